import { collectDefaultMetrics, Registry } from 'prom-client';

/**
 * The process_* and nodejs_* metrics of the exporter itself (prom-client's default metrics), left out
 * with --web.disable-exporter-metrics.
 */
export class ProcessMetrics {
  private readonly registry = new Registry();

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    // Gauges named *_total break the naming rules (promtool check metrics); the per-type
    // nodejs_active_handles/requests/resources gauges carry the same numbers.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
      this.registry.removeSingleMetric(name);
    }
  }

  /** The metrics as they are now. */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}
