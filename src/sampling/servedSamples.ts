import type { Body, CurrentSample } from './currentSample';

/** A group of targets in Prometheus' HTTP service-discovery format. */
export interface TargetGroup {
  readonly targets: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
}

/** A host as the landing page lists it: its name and its last published sample. */
export interface ServedHost {
  readonly name: string;
  readonly current: CurrentSample | null;
}

/**
 * What the HTTP app serves of the samples (the sampling half of app.ts's AppDependencies, which hosts.ts
 * makes): everything was published before; nothing here waits for a sample.
 */
export interface ServedSamples {
  /** What the exporter samples: its source (one host), or `config` (--config.file). */
  readonly source: string;
  /** The body of the telemetry path; null only before the first publication. */
  readonly metrics: () => Body | null;
  /** The hosts, for the landing page. */
  readonly hosts: () => readonly ServedHost[];
  /** /-/ready: 200 once this holds. */
  readonly ready: () => boolean;
  /**
   * With --config.file: a host's last published sample by /probe target; undefined for a name that is
   * no configured or discovered host. Absent: one host, no /probe.
   */
  readonly probe?: (target: string) => CurrentSample | null | undefined;
  /** With --config.file: the hosts as Prometheus HTTP service discovery wants them (/targets). */
  readonly targets?: () => readonly TargetGroup[];
}
