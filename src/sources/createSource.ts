import type { Logger } from 'pino';
import type { SampleSource } from '../contract/sample';
import type { PowerShellPool } from './powershell/pool';
import { createPowerShellSource } from './powershell/powershellSource';
import { createReplaySource } from './replaySource';
import { createSimulatorSource } from './simulatorSource';

/** Where one host's samples come from, as plain options (main builds them from flags and the config file). */
export type SourceOptions =
  | { readonly kind: 'replay'; readonly file: string }
  | { readonly kind: 'simulator'; readonly vms: number; readonly seed: number; readonly computerName?: string }
  | {
      readonly kind: 'powershell';
      /** Default: powershell.exe on Windows, pwsh elsewhere. */
      readonly executable?: string;
      /** A remote host (through a CIM session over WinRM); absent: this host. */
      readonly computerName?: string;
      readonly recycleAfterSamples: number;
      /** The processes to sample through, shared by every host; absent: one process of the source's own. */
      readonly pool?: PowerShellPool;
    };

/** The source for these options; the only place that knows every source. */
export function createSource(options: SourceOptions, logger: Logger): SampleSource {
  switch (options.kind) {
    case 'replay':
      return createReplaySource(options.file);
    case 'simulator':
      return createSimulatorSource({ vms: options.vms, seed: options.seed, computerName: options.computerName });
    case 'powershell':
      return createPowerShellSource({
        executable: options.executable,
        computerName: options.computerName,
        recycleAfterSamples: options.recycleAfterSamples,
        pool: options.pool,
        logger,
      });
  }
}
