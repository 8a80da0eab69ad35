import type { ChildProcess } from 'node:child_process';
import { InvocationError, ProcessError } from 'node-powershell';
import { SampleError } from '../../../src/contract/sample';
import type { FailureReason } from '../../../src/contract/sample';
import {
  answerField,
  classifyCollectError,
  classifyShellFailure,
  classifyStderrText,
  cleanShellOutput,
  interpretCollectOutput,
} from '../../../src/sources/powershell/classify';
import type { CollectErrorDetails } from '../../../src/sources/powershell/classify';

/**
 * Node-side classification of what PowerShell produced. The error objects below have the shape
 * collect.ps1's ConvertTo-HyperVIcErrorJson writes, with the codes a real host reports
 * (FullyQualifiedErrorId "HRESULT 0x...,Microsoft.Management.Infrastructure.CimCmdlets...").
 */

const DOCUMENT = '{"schemaVersion":1,"computerName":"HV01","collectedAt":"2025-01-01T00:00:00.000Z","classes":{"Msvm_ComputerSystem":[]}}';

const cimError = (fields: Partial<Record<keyof CollectErrorDetails, unknown>>): CollectErrorDetails => ({
  kind: 'exception',
  stage: 'Msvm_ComputerSystem',
  message: 'something failed',
  exceptionType: 'Microsoft.Management.Infrastructure.CimException',
  hresult: '0x80131500',
  nativeErrorCode: null,
  fullyQualifiedErrorId: null,
  category: 'NotSpecified',
  vmmsStatus: 'Running',
  ...fields,
});

describe('answerField', () => {
  test('returns the named field of a JSON object answer', () => {
    expect(answerField('{"outFile":"C:\\\\x.json"}', 'outFile', 'collect.ps1')).toBe('C:\\x.json');
    expect(answerField('{"nodes":[]}', 'nodes', 'Get-HyperVIcClusterNode')).toEqual([]);
  });

  test.each(['', 'WARNING: slow', '[1,2]', 'null', '{"other":1}', '{"outFile":'])('%j is output_unparseable, quoting the answer', (answer) => {
    let caught: unknown;
    try {
      answerField(answer, 'outFile', 'collect.ps1');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(SampleError);
    expect((caught as SampleError).reason).toBe('output_unparseable');
    expect((caught as SampleError).message).toContain('collect.ps1 answered without outFile');
  });
});

describe('interpretCollectOutput', () => {
  test('a JSON object is the document, returned as text', () => {
    expect(interpretCollectOutput(`${DOCUMENT}\n`)).toEqual({ kind: 'document', text: DOCUMENT });
  });

  test('terminal codes and a byte-order mark around the JSON are dropped (a raw ESC cannot be inside JSON)', () => {
    const raw = `\u001b[?1h\u001b[?1l\uFEFF${DOCUMENT}\n\u001b[?1h\u001b[?1l`;
    expect(interpretCollectOutput(raw)).toEqual({ kind: 'document', text: DOCUMENT });
  });

  test('an escaped ESC inside a string survives', () => {
    const text = '{"classes":{},"x":"\\u001b[31m"}';
    expect(interpretCollectOutput(text)).toEqual({ kind: 'document', text });
  });

  test.each([
    ['empty output', '', /no output/],
    ['a warning before the JSON', `WARNING: Resulting JSON is truncated as serialization has exceeded the set depth of 2.\n${DOCUMENT}`, /not a JSON object.*WARNING: Resulting JSON/],
    ['plain text', 'Get-HyperVIcSample : The term is not recognized', /not a JSON object/],
    ['text after the JSON', `${DOCUMENT}\nVERBOSE: done`, /not a JSON object.*VERBOSE/],
    ['a broken error object', '{"error":{"kind":}', /is not JSON/],
    ['a JSON array', '[1,2]', /not a JSON object/],
    ['a JSON string', '"text"', /not a JSON object/],
  ])('%s is output_unparseable', (_name, raw, message) => {
    const outcome = interpretCollectOutput(raw);
    expect(outcome.kind).toBe('unparseable');
    if (outcome.kind !== 'unparseable') return;
    expect(outcome.error.reason).toBe('output_unparseable');
    expect(outcome.error.message).toMatch(message);
  });

  test('an error object is a reported failure, classified', () => {
    const raw = JSON.stringify({ error: cimError({ fullyQualifiedErrorId: 'HRESULT 0x8004100e,Microsoft.Management.Infrastructure.CimCmdlets.GetCimInstanceCommand' }) });
    const outcome = interpretCollectOutput(raw);
    expect(outcome.kind).toBe('reported_failure');
    if (outcome.kind === 'reported_failure') expect(outcome.error.reason).toBe('namespace_missing');
  });

  test('a document that happens to have an "error" property is still a document', () => {
    const text = '{"schemaVersion":1,"error":{"kind":"x"},"classes":{}}';
    expect(interpretCollectOutput(text)).toEqual({ kind: 'document', text });
  });
});

describe('classifyCollectError', () => {
  const cases: Array<[string, CollectErrorDetails, FailureReason]> = [
    [
      'Invalid namespace (HRESULT in the FullyQualifiedErrorId)',
      cimError({ message: 'Invalid namespace ', fullyQualifiedErrorId: 'HRESULT 0x8004100e,Microsoft.Management.Infrastructure.CimCmdlets.GetCimInstanceCommand', category: 'MetadataError' }),
      'namespace_missing',
    ],
    ['Invalid namespace (CimException.NativeErrorCode only)', cimError({ nativeErrorCode: 'InvalidNamespace' }), 'namespace_missing'],
    ['a localized message with the WBEM code', cimError({ message: 'Ung\u00fcltiger Namespace ', fullyQualifiedErrorId: 'HRESULT 0x8004100E' }), 'namespace_missing'],
    [
      'WMI access denied',
      cimError({ message: 'Access denied ', fullyQualifiedErrorId: 'HRESULT 0x80041003,Microsoft.Management.Infrastructure.CimCmdlets.GetCimInstanceCommand', category: 'PermissionDenied' }),
      'access_denied',
    ],
    ['Win32 access denied (WinRM)', cimError({ stage: 'New-CimSession', fullyQualifiedErrorId: 'HRESULT 0x80070005,Microsoft.Management.Infrastructure.CimCmdlets.NewCimSessionCommand', vmmsStatus: null }), 'access_denied'],
    ['AccessDenied native code', cimError({ nativeErrorCode: 'AccessDenied' }), 'access_denied'],
    ['the exception HResult alone', cimError({ hresult: '0x80041003' }), 'access_denied'],
    ['only the PermissionDenied category', cimError({ category: 'PermissionDenied' }), 'access_denied'],
    ['no Msvm_ComputerSystem at all (a non-admin sees nothing)', { kind: 'no_computer_system', message: 'empty', vmmsStatus: 'Running' }, 'access_denied'],
    ['empty while vmms is stopped', { kind: 'no_computer_system', message: 'empty', vmmsStatus: 'Stopped' }, 'vmms_not_running'],
    ['an error while vmms is starting', cimError({ fullyQualifiedErrorId: 'HRESULT 0x80041013', vmmsStatus: 'StartPending' }), 'vmms_not_running'],
    ['an error while vmms is stopped beats the error itself', cimError({ fullyQualifiedErrorId: 'HRESULT 0x8004100e', vmmsStatus: 'Stopped' }), 'vmms_not_running'],
    ['namespace missing where there is no vmms service', cimError({ fullyQualifiedErrorId: 'HRESULT 0x8004100e', vmmsStatus: 'NotFound' }), 'namespace_missing'],
    ['an unknown vmms status does not decide', cimError({ fullyQualifiedErrorId: 'HRESULT 0x8004100e', vmmsStatus: 'Unknown' }), 'namespace_missing'],
    ['the FullyQualifiedErrorId beats a generic exception HResult', cimError({ fullyQualifiedErrorId: 'HRESULT 0x8004100e', hresult: '0x80041003' }), 'namespace_missing'],
    ['an RPC failure', cimError({ fullyQualifiedErrorId: 'HRESULT 0x800706ba,Microsoft.Management.Infrastructure.CimCmdlets.GetCimInstanceCommand' }), 'source_error'],
    ['an unknown kind with nothing else', { kind: 'mystery' }, 'source_error'],
    ['garbage fields', { kind: 3, message: ['x'], hresult: {}, fullyQualifiedErrorId: 12, vmmsStatus: false }, 'source_error'],
  ];

  test.each(cases)('%s → reason', (_name, details, reason) => {
    expect(classifyCollectError(details).reason).toBe(reason);
  });

  test('the message keeps what PowerShell said and where', () => {
    const error = classifyCollectError(cimError({ stage: 'Msvm_VssComponent', message: 'The RPC server is unavailable. ', fullyQualifiedErrorId: 'HRESULT 0x800706ba,X' }));
    expect(error.message).toMatch(/at Msvm_VssComponent.*The RPC server is unavailable.*HRESULT 0x800706ba/);
  });

  test('the access-denied message tells the operator what to do', () => {
    expect(classifyCollectError({ kind: 'no_computer_system', message: 'empty' }).message).toMatch(/Hyper-V Administrators/);
  });
});

describe('classifyCollectError: a remote host (New-CimSession over WinRM)', () => {
  const remote = (fields: Partial<Record<keyof CollectErrorDetails, unknown>>): CollectErrorDetails =>
    cimError({ stage: 'New-CimSession', vmmsStatus: null, category: 'ConnectionError', ...fields });
  const fqid = (code: string): string => `HRESULT ${code},Microsoft.Management.Infrastructure.CimCmdlets.NewCimSessionCommand`;

  test.each([
    ['0x80338126', 'unreachable'],
    ['0x80338029', 'unreachable'],
    ['0x80072EE7', 'unreachable'],
    ['0x80072EFD', 'unreachable'],
    ['0x80338012', 'winrm_not_configured'],
    ['0x803380E4', 'winrm_not_configured'],
    ['0x80070005', 'access_denied'],
    ['0x8009030C', 'access_denied'],
    ['0x80090311', 'access_denied'],
  ] as const)('%s is %s', (code, reason) => {
    expect(classifyCollectError(remote({ fullyQualifiedErrorId: fqid(code) })).reason).toBe<FailureReason>(reason);
  });

  test('a name that does not resolve is unreachable, by its message where no code says so', () => {
    const error = classifyCollectError(remote({ message: 'The WinRM client cannot process the request because the server name cannot be resolved. ' }));
    expect(error.reason).toBe('unreachable');
    expect(error.message).toMatch(/check the name, that it resolves, and that TCP 5985 is open/);
  });

  test('each remote reason says what to check', () => {
    expect(classifyCollectError(remote({ fullyQualifiedErrorId: fqid('0x80338012') })).message).toMatch(/winrm quickconfig/);
    expect(classifyCollectError(remote({ fullyQualifiedErrorId: fqid('0x80070005') })).message).toMatch(/Hyper-V Administrators/);
  });
});

describe('classifyStderrText', () => {
  test.each([
    ['\u001b[31;1mGet-CimInstance: Invalid namespace\u001b[0m', 'namespace_missing'],
    ['Get-CimInstance : HRESULT 0x8004100e', 'namespace_missing'],
    ['New-CimSession : Access is denied.', 'access_denied'],
    ['Something else entirely', 'source_error'],
    ['', 'source_error'],
  ] as Array<[string, FailureReason]>)('%j → %s', (stderr, reason) => {
    expect(classifyStderrText(stderr).reason).toBe(reason);
  });

  test('colour codes do not reach the message', () => {
    expect(classifyStderrText('\u001b[31;1mWrite-Error: \u001b[31;1mboom\u001b[0m').message).toBe('PowerShell wrote to stderr: Write-Error: boom');
  });
});

describe('classifyShellFailure', () => {
  const exitedProcess = (fields: Partial<Pick<ChildProcess, 'pid' | 'exitCode' | 'signalCode'>>): ChildProcess =>
    ({ pid: undefined, exitCode: null, signalCode: null, ...fields }) as ChildProcess;

  test.each(['ENOENT', 'EACCES'])('a spawn failure %s is powershell_not_found', (code) => {
    const spawnError = Object.assign(new Error(`spawn pwsh ${code}`), { code });
    const error = classifyShellFailure(new ProcessError(exitedProcess({}), spawnError), 'C:\\missing\\pwsh.exe');
    expect(error.reason).toBe('powershell_not_found');
    expect(error.message).toContain('"C:\\\\missing\\\\pwsh.exe"');
    expect(error.message).toContain('--powershell.path');
  });

  test('a process that exited is a source_error with its exit status', () => {
    const error = classifyShellFailure(new ProcessError(exitedProcess({ pid: 42, exitCode: 3 })), 'pwsh');
    expect(error.reason).toBe('source_error');
    expect(error.message).toContain('exit code 3');
    expect(classifyShellFailure(new ProcessError(exitedProcess({ pid: 42, signalCode: 'SIGKILL' })), 'pwsh').message).toContain('signal SIGKILL');
  });

  test('stderr text is classified by its content', () => {
    expect(classifyShellFailure(new InvocationError('Invalid namespace'), 'pwsh').reason).toBe('namespace_missing');
    expect(classifyShellFailure(new InvocationError('The term is not recognized'), 'pwsh').reason).toBe('source_error');
  });

  test('an invocation after exit is a source_error saying so', () => {
    expect(classifyShellFailure(new InvocationError('invoke called after process exited'), 'pwsh').message).toMatch(/exited unexpectedly/);
  });

  test('a SampleError passes through; anything else is a source_error', () => {
    const timeout = new SampleError('timeout', 'late');
    expect(classifyShellFailure(timeout, 'pwsh')).toBe(timeout);
    expect(classifyShellFailure(new TypeError('bad'), 'pwsh')).toMatchObject({ reason: 'source_error', message: expect.stringContaining('bad') });
    expect(classifyShellFailure('a string', 'pwsh').reason).toBe('source_error');
  });
});

describe('cleanShellOutput', () => {
  test('drops CSI sequences, a BOM and surrounding whitespace only', () => {
    expect(cleanShellOutput('\u001b[33;1m \uFEFF{"a":1}\r\n\u001b[0m')).toBe('{"a":1}');
  });
});
