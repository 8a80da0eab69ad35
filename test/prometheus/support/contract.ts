/**
 * The metric names hyperv-ic-exporter documents (docs/metrics.md; dashboard.test.ts checks the two
 * agree): the only ones the dashboard may query and the alert rules may use (besides Prometheus'
 * own `up`, for the exporter-down alert).
 */
export const EXPORTER_METRICS: ReadonlySet<string> = new Set([
  'hyperv_up',
  'hyperv_sample_duration_seconds',
  'hyperv_sample_timestamp_seconds',
  'hyperv_sample_failures_total',
  'hyperv_sample_dropped_total',
  'hyperv_collector_duration_seconds',
  'hyperv_collector_success',
  'hyperv_exporter_build_info',
  'hyperv_exporter_config_last_reload_successful',
  'hyperv_exporter_config_last_reload_success_timestamp_seconds',
  'hyperv_cluster_discovery_success',
  'hyperv_host_info',
  'hyperv_vm_info',
  'hyperv_vm_state',
  'hyperv_vm_uptime_seconds',
  'hyperv_vm_migrating',
  'hyperv_vm_seen_since_timestamp_seconds',
  'hyperv_vm_last_successful_backup_timestamp_seconds',
  'hyperv_vm_heartbeat_ok',
  'hyperv_vm_heartbeat_status',
  'hyperv_vm_application_health',
  'hyperv_vm_heartbeat_interval_seconds',
  'hyperv_vm_heartbeat_latency_seconds',
  'hyperv_vm_heartbeat_error_threshold',
  'hyperv_vm_integration_component_enabled',
  'hyperv_vm_integration_component_status',
  'hyperv_vm_integration_component_secondary_status',
  'hyperv_vm_integration_component_ok',
  'hyperv_vm_time_sync_enabled',
  'hyperv_vm_kvp_items',
  'hyperv_vm_guest_info',
  'hyperv_vm_guest_address_info',
  'hyperv_vm_kvp_item_info',
]);

/** Label values of the state sets, in the contract's order. */
export const HEARTBEAT_STATUSES = [
  'ok',
  'degraded',
  'error',
  'non_recoverable_error',
  'no_contact',
  'lost_communication',
  'paused',
  'unknown',
] as const;

export const VM_STATES = ['running', 'off', 'saved', 'paused', 'starting', 'stopping', 'saving', 'pausing', 'resuming', 'other'] as const;

export const SECONDARY_STATUSES = ['ok', 'protocol_mismatch', 'critical', 'communication_timed_out', 'communication_failed', 'unknown'] as const;
