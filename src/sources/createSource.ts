import type { Logger } from 'pino';
import type { Config } from '../config';
import { createReplaySource } from './replaySource';
import { createSimulatorSource } from './simulatorSource';
import type { SampleSource } from './source';

/** The configured source; the only place that knows every source. */
export function createSource(config: Config, logger: Logger): SampleSource {
  switch (config.source) {
    case 'replay':
      return createReplaySource(config.replay.file ?? '');
    case 'simulator':
      return createSimulatorSource({ vms: config.simulator.vms, seed: config.simulator.seed });
    case 'powershell':
      logger.error('the powershell source is not wired yet');
      throw new Error('the powershell source is not available in this build');
  }
}
