import { InvocationError, ProcessError } from 'node-powershell';
import { SampleError, type FailureReason } from '../../contract/sample';

/**
 * Turns what a PowerShell invocation produced into either the sample document text or a SampleError
 * with a failure reason. Pure functions: the session and the source decide what to do with the result.
 */

/** What collect.ps1 reports instead of a document; the facts, not a verdict (see ConvertTo-HyperVIcErrorJson). */
export interface CollectErrorDetails {
  /** `no_computer_system`: Msvm_ComputerSystem came back empty; `exception`: a query or the session failed. */
  readonly kind?: unknown;
  /** The class being queried, or New-CimSession, when it failed. */
  readonly stage?: unknown;
  readonly message?: unknown;
  readonly exceptionType?: unknown;
  /** The exception's HResult as `0x8004100E`. */
  readonly hresult?: unknown;
  /** CimException.NativeErrorCode (the MI result), e.g. `InvalidNamespace`, `AccessDenied`. */
  readonly nativeErrorCode?: unknown;
  /** e.g. `HRESULT 0x8004100e,Microsoft.Management.Infrastructure.CimCmdlets.GetCimInstanceCommand`. */
  readonly fullyQualifiedErrorId?: unknown;
  /** ErrorCategory name, e.g. `PermissionDenied`, `MetadataError`. */
  readonly category?: unknown;
  /** Local host only: the vmms service status (`Running`, `Stopped`, ..., `NotFound`, `Unknown`); null when not asked. */
  readonly vmmsStatus?: unknown;
}

export type CollectOutcome =
  | { readonly kind: 'document'; readonly text: string }
  /** collect.ps1 ran and reported why there is no document: the PowerShell process is healthy. */
  | { readonly kind: 'reported_failure'; readonly error: SampleError }
  /** The output was not what collect.ps1 writes: the process is in an unknown state. */
  | { readonly kind: 'unparseable'; readonly error: SampleError };

/** WMI / Win32 codes, from WbemCli.h (WBEM_E_*) and winerror.h. */
const WBEM_E_INVALID_NAMESPACE = 0x8004100e;
const WBEM_E_ACCESS_DENIED = 0x80041003;
const E_ACCESSDENIED = 0x80070005;
/** A Kerberos or NTLM logon the remote host refused (SEC_E_LOGON_DENIED, SEC_E_NO_AUTHENTICATING_AUTHORITY, SEC_E_NO_CREDENTIALS). */
const SEC_E_LOGON_DENIED = 0x8009030c;
const SEC_E_NO_AUTHENTICATING_AUTHORITY = 0x80090311;
const SEC_E_NO_CREDENTIALS = 0x8009030e;
/**
 * WinRM (wsmerror.h): the host did not answer in time, which is what an unreachable host, a firewall
 * that drops the packets, or a name that does not resolve look like (ERROR_WSMAN_NETWORK_TIMEDOUT,
 * ERROR_WSMAN_OPERATION_TIMEDOUT); WinHTTP underneath it could not resolve or reach the name.
 */
const ERROR_WSMAN_NETWORK_TIMEDOUT = 0x80338126;
const ERROR_WSMAN_OPERATION_TIMEDOUT = 0x80338029;
const ERROR_WINHTTP_NAME_NOT_RESOLVED = 0x80072ee7;
const ERROR_WINHTTP_CANNOT_CONNECT = 0x80072efd;
const ERROR_WINHTTP_TIMEOUT = 0x80072ee2;
/**
 * WinRM: the host answered, but nothing takes the request there (ERROR_WSMAN_DESTINATION_UNREACHABLE:
 * "Verify that the service on the destination is running and is accepting requests… winrm
 * quickconfig"), or the client may not use it that way (an IP address or a workgroup host outside
 * TrustedHosts: ERROR_WSMAN_CLIENT_ALLOWFRESHCREDENTIALS… family, 0x803380E4).
 */
const ERROR_WSMAN_DESTINATION_UNREACHABLE = 0x80338012;
const ERROR_WSMAN_TRUSTEDHOSTS = 0x803380e4;

const RESULT_CODES: ReadonlyMap<number, FailureReason> = new Map([
  [WBEM_E_INVALID_NAMESPACE, 'namespace_missing'],
  [WBEM_E_ACCESS_DENIED, 'access_denied'],
  [E_ACCESSDENIED, 'access_denied'],
  [SEC_E_LOGON_DENIED, 'access_denied'],
  [SEC_E_NO_AUTHENTICATING_AUTHORITY, 'access_denied'],
  [SEC_E_NO_CREDENTIALS, 'access_denied'],
  [ERROR_WSMAN_NETWORK_TIMEDOUT, 'unreachable'],
  [ERROR_WSMAN_OPERATION_TIMEDOUT, 'unreachable'],
  [ERROR_WINHTTP_NAME_NOT_RESOLVED, 'unreachable'],
  [ERROR_WINHTTP_CANNOT_CONNECT, 'unreachable'],
  [ERROR_WINHTTP_TIMEOUT, 'unreachable'],
  [ERROR_WSMAN_DESTINATION_UNREACHABLE, 'winrm_not_configured'],
  [ERROR_WSMAN_TRUSTEDHOSTS, 'winrm_not_configured'],
]);

/** Microsoft.Management.Infrastructure.NativeErrorCode names (MI_Result). */
const NATIVE_ERROR_CODES: ReadonlyMap<string, FailureReason> = new Map([
  ['InvalidNamespace', 'namespace_missing'],
  ['AccessDenied', 'access_denied'],
]);

const NAMESPACE = 'root/virtualization/v2';

const EXPLANATIONS: Readonly<Partial<Record<FailureReason, string>>> = {
  namespace_missing: `the WMI namespace ${NAMESPACE} does not exist: is the Hyper-V role installed on this host?`,
  access_denied: 'access denied: the account running the exporter must be a member of "Hyper-V Administrators" (or Administrators), and for a remote host be able to log on to it over WinRM',
  vmms_not_running: 'the Hyper-V Virtual Machine Management service (vmms) is not running',
  unreachable: 'the host cannot be reached over WinRM: check the name, that it resolves, and that TCP 5985 is open on the way and in its firewall',
  winrm_not_configured: 'the host does not take WinRM requests: run "winrm quickconfig" (or Enable-PSRemoting) on it; an IP address or a host outside the domain must also be in the exporter\'s TrustedHosts',
};

/** Terminal control sequences (pwsh adds cursor-mode and colour codes when TERM says a terminal is there). */
const TERMINAL_SEQUENCES = /\u001B\[[0-9;?]*[A-Za-z]/g;

/**
 * Removes what is never part of a JSON text: terminal control sequences (a raw ESC cannot occur inside
 * JSON, where control characters must be escaped), a byte-order mark, surrounding whitespace.
 */
export function cleanShellOutput(raw: string): string {
  return raw.replace(TERMINAL_SEQUENCES, '').replace(/^\uFEFF/, '').trim();
}

function excerpt(text: string, maxLength = 300): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length <= maxLength ? oneLine : `${oneLine.slice(0, maxLength)}…`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function asText(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** Reads `0x8004100E` or the `HRESULT 0x8004100e,...` prefix of a FullyQualifiedErrorId. */
function parseResultCode(text: string | undefined): number | undefined {
  const match = text === undefined ? null : /(?:^|HRESULT\s+)0x([0-9A-Fa-f]{8})\b/.exec(text);
  return match?.[1] === undefined ? undefined : Number.parseInt(match[1], 16);
}

/** The reason collect.ps1's error object stands for. The order matters: the most specific fact wins. */
export function classifyCollectError(details: CollectErrorDetails): SampleError {
  const message = asText(details.message) ?? 'collect.ps1 reported a failure without a message';
  const stage = asText(details.stage);
  const vmmsStatus = asText(details.vmmsStatus);

  // A stopped vmms explains both errors and empty results, so it comes first.
  if (vmmsStatus !== undefined && !['Running', 'NotFound', 'Unknown'].includes(vmmsStatus)) {
    return new SampleError('vmms_not_running', `${EXPLANATIONS.vmms_not_running} (status ${vmmsStatus}); ${message}`);
  }
  if (details.kind === 'no_computer_system') {
    return new SampleError('access_denied', `${EXPLANATIONS.access_denied}; ${message}`);
  }

  const fromFullyQualifiedId = parseResultCode(asText(details.fullyQualifiedErrorId));
  const fromHResult = parseResultCode(asText(details.hresult));
  const nativeErrorCode = asText(details.nativeErrorCode);
  const reason =
    (fromFullyQualifiedId === undefined ? undefined : RESULT_CODES.get(fromFullyQualifiedId)) ??
    (nativeErrorCode === undefined ? undefined : NATIVE_ERROR_CODES.get(nativeErrorCode)) ??
    (fromHResult === undefined ? undefined : RESULT_CODES.get(fromHResult)) ??
    (details.category === 'PermissionDenied' ? 'access_denied' : undefined) ??
    (/server name cannot be resolved/i.test(message) ? 'unreachable' : undefined);

  const where = stage === undefined ? '' : ` (at ${stage})`;
  if (reason !== undefined) {
    return new SampleError(reason, `${EXPLANATIONS[reason] ?? reason}; PowerShell said${where}: ${message}`);
  }
  const code = asText(details.fullyQualifiedErrorId) ?? asText(details.hresult);
  return new SampleError('source_error', `collection failed${where}: ${message}${code === undefined ? '' : ` [${code}]`}`);
}

/**
 * Interprets the stdout of one `Get-HyperVIcSample` invocation. Only collect.ps1's small error object
 * is parsed here; a document is handed on as text and parsed once, by the sample processor (which
 * reports a broken one as invalid_document). Text around the JSON (warnings, stray output) makes it
 * unparseable.
 */
export function interpretCollectOutput(raw: string): CollectOutcome {
  const text = cleanShellOutput(raw);
  if (text === '') {
    return { kind: 'unparseable', error: new SampleError('output_unparseable', 'PowerShell returned no output for the sample') };
  }
  if (!text.startsWith('{') || !text.endsWith('}')) {
    return { kind: 'unparseable', error: new SampleError('output_unparseable', `PowerShell output is not a JSON object (warnings or errors on stdout?): ${excerpt(text)}`) };
  }
  if (!/^\{\s*"error"\s*:/.test(text)) return { kind: 'document', text };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    return {
      kind: 'unparseable',
      error: new SampleError('output_unparseable', `PowerShell output is not JSON (warnings or errors on stdout?): ${excerpt(text)}`, { cause }),
    };
  }
  if (isPlainObject(parsed) && isPlainObject(parsed.error) && !('classes' in parsed)) {
    return { kind: 'reported_failure', error: classifyCollectError(parsed.error) };
  }
  return { kind: 'document', text };
}

/**
 * One field of the small JSON object a collect.ps1 command answers with (a file name, a node list);
 * an answer that is not such an object, or lacks the field, is output_unparseable, quoting the answer.
 */
export function answerField(answer: string, field: string, what: string): unknown {
  let parsed: unknown;
  try {
    parsed = JSON.parse(answer);
  } catch {
    parsed = null;
  }
  const value = isPlainObject(parsed) ? parsed[field] : undefined;
  if (value === undefined) throw new SampleError('output_unparseable', `${what} answered without ${field}: ${excerpt(answer, 200)}`);
  return value;
}

/** Reads the reason out of free text that PowerShell wrote to stderr (something collect.ps1 did not catch). */
export function classifyStderrText(stderr: string): SampleError {
  const text = cleanShellOutput(stderr);
  const code = parseResultCode(/HRESULT\s+0x[0-9A-Fa-f]{8}/.exec(text)?.[0]);
  const byCode = code === undefined ? undefined : RESULT_CODES.get(code);
  const reason: FailureReason | undefined =
    byCode ??
    (/invalid namespace/i.test(text)
      ? 'namespace_missing'
      : /access (is )?denied/i.test(text)
        ? 'access_denied'
        : /server name cannot be resolved/i.test(text)
          ? 'unreachable'
          : undefined);
  if (reason !== undefined) return new SampleError(reason, `${EXPLANATIONS[reason] ?? reason}; PowerShell wrote to stderr: ${excerpt(text)}`);
  return new SampleError('source_error', `PowerShell wrote to stderr: ${excerpt(text) || '(nothing readable)'}`);
}

/** Spawn errors that mean "there is no runnable executable at that path". */
const NOT_FOUND_CODES = new Set(['ENOENT', 'EACCES', 'ENOTDIR', 'EPERM']);

function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  const code = (error as { code: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Classifies a rejection of node-powershell's `invoke` (or of the session start): the process could
 * not be spawned, it exited, or it wrote to stderr.
 */
export function classifyShellFailure(error: unknown, executable: string): SampleError {
  if (error instanceof SampleError) return error;
  if (error instanceof ProcessError) {
    const spawnCode = errorCode(error.originalError);
    if (spawnCode !== undefined && NOT_FOUND_CODES.has(spawnCode)) {
      return new SampleError(
        'powershell_not_found',
        `cannot start PowerShell ${JSON.stringify(executable)} (${spawnCode}: ${spawnCode === 'ENOENT' || spawnCode === 'ENOTDIR' ? 'no such program' : 'not allowed to run it'}); install PowerShell, or set --powershell.path to the full path of powershell.exe or pwsh`,
        { cause: error },
      );
    }
    const how = error.signalCode ? `signal ${error.signalCode}` : `exit code ${String(error.exitCode)}`;
    return new SampleError('source_error', `PowerShell process exited unexpectedly (${how})`, { cause: error });
  }
  if (error instanceof InvocationError) {
    if (error.message === 'invoke called after process exited') {
      return new SampleError('source_error', 'PowerShell process exited unexpectedly', { cause: error });
    }
    const classified = classifyStderrText(error.message);
    return new SampleError(classified.reason, classified.message, { cause: error });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new SampleError('source_error', `PowerShell invocation failed: ${message}`, { cause: error });
}
