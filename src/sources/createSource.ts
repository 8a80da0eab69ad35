import type { Logger } from 'pino';
import type { Config } from '../config';
import { createPowerShellSource, defaultPowerShellExecutable } from './powershell/powershellSource';
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
      return createPowerShellSource({
        executable: config.powershell.path ?? defaultPowerShellExecutable(),
        computerName: config.powershell.computerName,
        recycleAfterSamples: config.powershell.recycleAfterSamples,
        logger,
      });
  }
}
