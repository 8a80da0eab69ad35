import { promisify } from 'node:util';
import { constants, gzip, type ZlibOptions } from 'node:zlib';
import type { FailureReason } from '../contract/sample';
import type { HostModel } from '../model/hostModel';
import type { SamplingHealth } from '../metrics/samplingMetrics';

const gzipAsync = promisify<Buffer, ZlibOptions, Buffer>(gzip);
// Level 1: at 1024 VMs it compresses the 6 MB exposition in about a third of the default level's time
// for 4 % more bytes (docs/performance.md); the text repeats itself so much that more effort buys little.
// Output in 256 KiB pieces rather than zlib's 16 KiB: a 1024-VM body takes 3 trips through the
// thread pool instead of 43, each of which waits for the event loop (docs/performance.md).
const GZIP_OPTIONS: ZlibOptions = { level: constants.Z_BEST_SPEED, chunkSize: 256 * 1024 };

/** A failed sample as the landing page shows it: the closed reason, the error's message, and when. */
export interface SampleFailure {
  readonly reason: FailureReason;
  readonly message: string;
  readonly at: Date;
}

/** What a host's sampling stands at after an outcome; everything a body is rendered from. */
export interface HostState {
  /** The host's configured name (the `target` of /probe), or the source's name for the one host of /metrics. */
  readonly host: string;
  /** The last good sample's model; null before the first success and after it expired. */
  readonly model: HostModel | null;
  /**
   * The VM metrics served: the collectors' families of the model, then since when each VM has been seen
   * (hyperv_vm_seen_since_timestamp_seconds, which the host's record keeps); '' when there is no model.
   */
  readonly modelText: string;
  readonly health: SamplingHealth;
  readonly lastSuccessAt: Date | null;
  /** The last failed sample; null until one fails. Kept after a recovery (the landing page shows it). */
  readonly lastFailure: SampleFailure | null;
  /** At least one sample has succeeded since start (the /-/ready condition). */
  readonly ready: boolean;
}

/** An exposition body as it is served: rendered once and compressed once. */
export interface Body {
  readonly identity: Buffer;
  readonly gzip: Buffer;
}

/** The one immutable object a host publishes after each outcome: what every endpoint reads. */
export interface CurrentSample extends HostState {
  readonly body: Body;
}

/** Encodes and compresses an exposition once, off the event loop (zlib runs on the thread pool). */
export async function compressBody(text: string): Promise<Body> {
  const identity = Buffer.from(text, 'utf8');
  return { identity, gzip: await gzipAsync(identity, GZIP_OPTIONS) };
}
