import { existsSync } from 'node:fs';
import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { validateHostAddress } from '../../contract/hostAddress';
import { SampleError, type RawSample, type SampleScope, type SampleSource } from '../../contract/sample';
import { DEFAULT_LIMITS } from '../../document/limits';
import { answerField } from './classify';
import { PowerShellPool } from './pool';
import { quotePowerShellString } from './quoting';
import type { RestartBackoff } from './worker';

export { DEFAULT_RESTART_BACKOFF, restartDelayMs, type RestartBackoff } from './worker';

export interface PowerShellSourceOptions {
  /** A remote Hyper-V host, sampled through a CIM session over WinRM (`--powershell.computer-name`); absent: this host. */
  readonly computerName?: string;
  /** The pool to sample through (shared by every host); absent: a pool of one process of the source's own, made from the options below. */
  readonly pool?: PowerShellPool;
  /** `powershell.exe`, `pwsh`, or a full path (`--powershell.path`). */
  readonly executable?: string;
  readonly recycleAfterSamples?: number;
  readonly logger?: Logger;
  readonly restartBackoff?: RestartBackoff;
  readonly preloadModules?: readonly string[];
  /** Default: collect.ps1 next to this file (`npm run build` copies it into dist/). */
  readonly scriptPath?: string;
  readonly killGraceMs?: number;
  /** Largest document taken from the script; default the document limit. */
  readonly maxDocumentBytes?: number;
}

/** The default of --powershell.recycle-after (history is trimmed after every sample; this is hygiene). */
export const DEFAULT_RECYCLE_AFTER_SAMPLES = 1000;

/** Windows PowerShell 5.1 where it always exists, PowerShell 7 elsewhere. */
export function defaultPowerShellExecutable(platform: NodeJS.Platform = process.platform): string {
  return platform === 'win32' ? 'powershell.exe' : 'pwsh';
}

/** The shipped collection script, beside this file: in src/ (tests), dist/, or the release bundle's folder. */
export function defaultCollectScriptPath(): string {
  return join(__dirname, 'collect.ps1');
}

/**
 * The single line sent per sample. The computer name is validated and then single-quoted, never
 * templated; so is the file the document is written to.
 */
export function buildSampleCommand(computerName: string | undefined, scope: SampleScope, outFile?: string): string {
  const parts = ['Get-HyperVIcSample', '-Scope', scope === 'status' ? 'Status' : 'Full'];
  if (computerName !== undefined) parts.push('-ComputerName', quotePowerShellString(validateHostAddress(computerName)));
  if (outFile !== undefined) parts.push('-OutFile', quotePowerShellString(outFile));
  return parts.join(' ');
}

/** A pool of PowerShell processes for the given options (the source's own, or main's shared one). */
export function createPowerShellPool(options: PowerShellSourceOptions & { readonly size?: number; readonly logger: Logger }): PowerShellPool {
  const scriptPath = options.scriptPath ?? defaultCollectScriptPath();
  if (!existsSync(scriptPath)) throw new Error(`collect.ps1 not found at ${scriptPath} (was the package built with npm run build?)`);
  return new PowerShellPool({
    executable: options.executable ?? defaultPowerShellExecutable(),
    size: options.size ?? 1,
    recycleAfterSamples: options.recycleAfterSamples ?? DEFAULT_RECYCLE_AFTER_SAMPLES,
    scriptPath,
    logger: options.logger,
    restartBackoff: options.restartBackoff,
    preloadModules: options.preloadModules,
    killGraceMs: options.killGraceMs,
  });
}

/** What collect.ps1 answers to a sample written to a file: the file's name. */
function writtenFile(answer: string): string {
  const outFile = answerField(answer, 'outFile', 'collect.ps1');
  if (typeof outFile !== 'string') throw new SampleError('output_unparseable', 'collect.ps1 named the file it wrote with something other than text');
  return outFile;
}

/**
 * The production source: collect.ps1 in a warm PowerShell process of the pool, one command per
 * sample; the document comes back through the worker's file, read at once (not through the process's
 * stdout, which node-powershell gathers in time quadratic in its size). Throws synchronously for
 * invalid options (a bad computer name, a missing collect.ps1).
 */
export function createPowerShellSource(options: PowerShellSourceOptions): SampleSource {
  if (options.computerName !== undefined) validateHostAddress(options.computerName);
  const ownPool = options.pool === undefined;
  const pool = options.pool ?? createPowerShellPool({ ...options, logger: options.logger ?? pino({ level: 'silent' }) });
  const maxBytes = options.maxDocumentBytes ?? DEFAULT_LIMITS.maxDocumentBytes;
  return {
    name: 'powershell',
    sample(scope: SampleScope, signal: AbortSignal): Promise<RawSample> {
      return pool.withWorker(signal, async (worker) => {
        const answer = await worker.invoke(buildSampleCommand(options.computerName, scope, worker.outFile), signal);
        try {
          const file = writtenFile(answer);
          if (file !== worker.outFile) throw new SampleError('output_unparseable', `collect.ps1 wrote ${file}, not ${worker.outFile}`);
          // Each character takes at least one byte: a file larger than the limit is refused unread.
          const { size } = await stat(file);
          if (size > maxBytes * 3) throw new SampleError('invalid_document', `the sample document is larger than ${maxBytes} bytes`);
          return { text: await readFile(file, { encoding: 'utf8', signal }) };
        } catch (error) {
          if (error instanceof SampleError) throw error;
          if ((error as Error).name === 'AbortError') throw new SampleError('timeout', 'the sample document was not read within the sample timeout');
          throw new SampleError('source_error', `cannot read the sample document collect.ps1 wrote: ${(error as Error).message}`, { cause: error });
        } finally {
          await rm(worker.outFile, { force: true });
        }
      });
    },
    close(): Promise<void> {
      return ownPool ? pool.close() : Promise.resolve();
    },
  };
}
