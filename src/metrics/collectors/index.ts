import type { ModelCollector } from './collector';
import { heartbeatCollector } from './heartbeatCollector';
import { backupCollector } from './backupCollector';
import { hostCollector } from './hostCollector';
import { integrationComponentCollector } from './integrationComponentCollector';
import { kvpCollector } from './kvpCollector';
import { vmCollector } from './vmCollector';

/** Every collector, in the order their families appear in /metrics. */
export const COLLECTORS: readonly ModelCollector[] = [
  hostCollector,
  vmCollector,
  heartbeatCollector,
  integrationComponentCollector,
  kvpCollector,
  backupCollector,
];
