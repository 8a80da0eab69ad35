import type { Logger } from 'pino';
import { failureReasonOf } from '../contract/sample';

/** A node of the failover cluster (MSCluster_Node). */
export interface ClusterNode {
  readonly name: string;
  /** ClusterNodeState: -1 unknown, 0 up, 1 down, 2 paused, 3 joining. */
  readonly state: number;
}

export interface ClusterDiscoveryOptions {
  readonly readNodes: (signal: AbortSignal) => Promise<readonly ClusterNode[]>;
  /** Called with the nodes after every successful read. */
  readonly onNodes: (nodes: readonly ClusterNode[]) => Promise<void>;
  readonly refreshMs: number;
  readonly timeoutMs: number;
  readonly logger: Logger;
}

/**
 * Reads the nodes of the local failover cluster at start and every refreshMs, so that nodes that join
 * or leave become or stop being hosts. A failed read keeps the hosts of the last good one.
 */
export class ClusterDiscovery {
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private lastNames = '';
  /** Whether the last read succeeded; null before the first. */
  lastSucceeded: boolean | null = null;

  constructor(private readonly options: ClusterDiscoveryOptions) {}

  /** Reads the nodes once (resolves after the first read, successful or not), then keeps reading. */
  async start(): Promise<void> {
    this.stopped = false;
    await this.refresh();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private async refresh(): Promise<void> {
    try {
      const nodes = await this.options.readNodes(AbortSignal.timeout(this.options.timeoutMs));
      const names = nodes.map((node) => node.name).sort().join(',');
      if (names !== this.lastNames) this.options.logger.info({ nodes: nodes.map((node) => ({ name: node.name, state: node.state })) }, 'cluster nodes read');
      this.lastNames = names;
      if (this.lastSucceeded === false) this.options.logger.info('cluster discovery recovered');
      this.lastSucceeded = true;
      await this.options.onNodes(nodes);
    } catch (error) {
      const level = this.lastSucceeded === false ? 'debug' : 'warn';
      this.options.logger[level]({ reason: failureReasonOf(error), err: error }, 'reading the cluster nodes failed; keeping the hosts of the last good read');
      this.lastSucceeded = false;
    }
    if (!this.stopped) {
      this.timer = setTimeout(() => void this.refresh(), this.options.refreshMs);
      this.timer.unref();
    }
  }
}
