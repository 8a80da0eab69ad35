// The Windows service scripts cannot run here (no Service Control Manager), so this proves what can be
// proved off Windows: both scripts parse, use nothing newer than Windows PowerShell 5.1, declare that
// they need 5.1 and elevation, and the pure helpers of install-service.ps1 produce a WinSW
// configuration whose command line splits back into exactly the exporter's arguments.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runtimeSettingsOf } from '../../src/runtimeSettings';
import { describeWithTools, toolPath } from '../helpers/testTools';
import { repoPath } from './support';

const installScript = repoPath('scripts', 'install-service.ps1');
const uninstallScript = repoPath('scripts', 'uninstall-service.ps1');
const pwsh = toolPath('pwsh');

interface ScriptReport {
  path: string;
  parseErrors: string[];
  newerSyntax: string[];
  newerCommands: string[];
  requiredVersion: string | null;
  requiresElevation: boolean;
}

// Runs in PowerShell 7, but judges the scripts by what Windows PowerShell 5.1 understands.
const analyzerSource = String.raw`
using namespace System.Management.Automation.Language
param([Parameter(Mandatory = $true, ValueFromRemainingArguments = $true)][string[]] $Path)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0

# Token kinds that only PowerShell 7 knows: && || ?? ??= ternary ?: ?. ?[
$newerTokenKinds = @('AndAnd', 'OrOr', 'QuestionQuestion', 'QuestionQuestionEquals', 'QuestionMark', 'QuestionDot', 'QuestionLBracket')
# Parameters added after 5.1, per cmdlet.
$newerParameters = @{
    'ConvertFrom-Json' = @('AsHashtable', 'Depth', 'NoEnumerate')
    'ConvertTo-Json' = @('EnumsAsStrings', 'AsArray', 'EscapeHandling')
    'Join-Path' = @('AdditionalChildPath')
    'Get-Content' = @('AsByteStream')
    'Set-Content' = @('AsByteStream')
    'Add-Content' = @('AsByteStream')
    'ForEach-Object' = @('Parallel', 'ThrottleLimit', 'TimeoutSeconds')
    'Invoke-WebRequest' = @('SkipCertificateCheck', 'SkipHttpErrorCheck', 'StatusCodeVariable', 'Authentication', 'Token', 'SslProtocol', 'Resume', 'NoProxy')
    'Invoke-RestMethod' = @('SkipCertificateCheck', 'SkipHttpErrorCheck', 'StatusCodeVariable', 'Authentication', 'Token', 'SslProtocol', 'Resume', 'NoProxy')
    'Split-Path' = @('LeafBase', 'Extension')
    'Start-Process' = @('Environment')
    'Select-String' = @('Raw', 'NoEmphasis')
    'Test-Connection' = @('TargetName', 'TcpPort')
    'Set-Service' = @('Credential')
}
$newerCommandNames = @('Get-Error', 'Test-Json', 'ConvertFrom-Markdown', 'Get-Uptime', 'Remove-Alias', 'Remove-Service', 'Join-String', 'Get-PSSubsystem')
$newerEncodings = @('utf8NoBOM', 'utf8BOM')

$reports = foreach ($scriptPath in $Path) {
    $tokens = $null
    $errors = $null
    $ast = [Parser]::ParseFile($scriptPath, [ref] $tokens, [ref] $errors)
    $newerSyntax = New-Object System.Collections.Generic.List[string]
    foreach ($token in $tokens) {
        if ($newerTokenKinds -contains $token.Kind.ToString()) {
            $newerSyntax.Add(('{0} "{1}" at line {2}' -f $token.Kind, $token.Text, $token.Extent.StartLineNumber))
        }
    }
    $blocksWithClean = $ast.FindAll({ param($node) $node -is [ScriptBlockAst] -and $node.PSObject.Properties['CleanBlock'] -and $null -ne $node.CleanBlock }, $true)
    foreach ($block in $blocksWithClean) { $newerSyntax.Add(('clean block at line {0}' -f $block.Extent.StartLineNumber)) }

    $newerCommands = New-Object System.Collections.Generic.List[string]
    $commands = $ast.FindAll({ param($node) $node -is [CommandAst] }, $true)
    foreach ($command in $commands) {
        $name = $command.GetCommandName()
        if (-not $name) { continue }
        $line = $command.Extent.StartLineNumber
        if ($newerCommandNames -contains $name) { $newerCommands.Add(('{0} at line {1}' -f $name, $line)) }
        $positional = 0
        foreach ($element in $command.CommandElements | Select-Object -Skip 1) {
            if ($element -is [CommandParameterAst]) {
                if ($newerParameters.ContainsKey($name)) {
                    foreach ($newer in $newerParameters[$name]) {
                        if ($newer -like ($element.ParameterName + '*')) { $newerCommands.Add(('{0} -{1} at line {2}' -f $name, $element.ParameterName, $line)) }
                    }
                }
                if ($element.ParameterName -eq 'Encoding' -and $element.Argument -and ($newerEncodings -contains $element.Argument.Extent.Text.Trim("'", '"'))) {
                    $newerCommands.Add(('{0} -Encoding {1} at line {2}' -f $name, $element.Argument.Extent.Text, $line))
                }
            }
            else {
                $positional++
                if ($newerEncodings -contains $element.Extent.Text.Trim("'", '"')) {
                    $newerCommands.Add(('{0} encoding {1} at line {2}' -f $name, $element.Extent.Text, $line))
                }
            }
        }
        # 5.1's Join-Path takes exactly two positional paths; a third is PowerShell 6+.
        if ($name -eq 'Join-Path' -and $positional -gt 2) { $newerCommands.Add(('Join-Path with {0} paths at line {1}' -f $positional, $line)) }
    }

    $requiredVersion = $null
    $requiresElevation = $false
    if ($ast.ScriptRequirements) {
        if ($ast.ScriptRequirements.RequiredPSVersion) { $requiredVersion = $ast.ScriptRequirements.RequiredPSVersion.ToString() }
        $requiresElevation = [bool] $ast.ScriptRequirements.IsElevationRequired
    }
    [pscustomobject] @{
        path = $scriptPath
        parseErrors = @($errors | ForEach-Object { ('{0} at line {1}' -f $_.Message, $_.Extent.StartLineNumber) })
        newerSyntax = @($newerSyntax)
        newerCommands = @($newerCommands)
        requiredVersion = $requiredVersion
        requiresElevation = $requiresElevation
    }
}
ConvertTo-Json -InputObject @($reports) -Depth 4 -Compress
`;

// Loads only the pure helper functions of install-service.ps1 (the script body needs Windows) and
// reports what they return for awkward inputs.
const helperHarnessSource = String.raw`
param([Parameter(Mandatory = $true)][string] $InstallScript, [Parameter(Mandatory = $true)][string] $NodePath)
$ErrorActionPreference = 'Stop'
$ast = [System.Management.Automation.Language.Parser]::ParseFile($InstallScript, [ref] $null, [ref] $null)
$definitions = $ast.FindAll({ param($node) $node -is [System.Management.Automation.Language.FunctionDefinitionAst] }, $false)
foreach ($name in @('ConvertTo-CommandLineArgument', 'Join-CommandLine', 'Get-ListenPort', 'Get-HealthProbeUrl', 'Get-NodeOptions', 'New-WinSWConfiguration')) {
    $definition = $definitions | Where-Object { $_.Name -eq $name } | Select-Object -First 1
    if (-not $definition) { throw "install-service.ps1 has no function $name" }
    . ([scriptblock]::Create($definition.Extent.Text))
}

$exporterArguments = @(
    'C:\Program Files\hyperv-ic-exporter\node_modules\hyperv-ic-exporter\dist\main.js',
    '--source=powershell',
    '--web.config.file=C:\Program Files\hyperv-ic-exporter\web config.yml',
    '--powershell.computer-name=hv01&<lab>',
    'trailing backslash in quotes \',
    'C:\path\with\no\spaces\',
    'embedded "quotes" \"and\\" backslashes',
    '',
    '--web.listen-address=:10062'
)
$configuration = @{
    ServiceName = 'hyperv-ic-exporter'
    DisplayName = 'Hyper-V IC exporter & friends'
    NodePath = 'C:\Program Files\nodejs\node.exe'
    MainScriptPath = $exporterArguments[0]
    ExporterArguments = @($exporterArguments | Select-Object -Skip 1)
    WorkingDirectory = 'C:\Program Files\hyperv-ic-exporter'
    LogDirectory = 'C:\ProgramData\hyperv-ic-exporter\logs'
    DependsOn = @('vmms')
}
$xml = New-WinSWConfiguration @configuration
$document = [xml] $xml
$commandLine = $document.service.arguments

# An independent parser of Windows command lines: .NET splits ProcessStartInfo.Arguments by the same
# rules as the C runtime, also on Linux. node prints what it received.
$printArguments = 'process.stdout.write(JSON.stringify(process.argv.slice(1)))'
$startInfo = New-Object System.Diagnostics.ProcessStartInfo
$startInfo.FileName = $NodePath
# '--': the node options at the start of the command line are to be printed, not taken by this node.
$startInfo.Arguments = (ConvertTo-CommandLineArgument -Argument '-e') + ' ' + (ConvertTo-CommandLineArgument -Argument $printArguments) + ' -- ' + $commandLine
$startInfo.RedirectStandardOutput = $true
$startInfo.UseShellExecute = $false
$process = [System.Diagnostics.Process]::Start($startInfo)
$received = $process.StandardOutput.ReadToEnd()
$process.WaitForExit()

$ports = [ordered] @{}
foreach ($address in @(':10062', '0.0.0.0:9182', '127.0.0.1:10062', '[::]:10063', '[::1]:10064', 'hv01.contoso.com:8080')) {
    $ports[$address] = Get-ListenPort -ListenAddress $address
}
$rejected = @()
foreach ($address in @('10062', ':0', ':70000', 'host:port', ':10062/metrics')) {
    try { [void] (Get-ListenPort -ListenAddress $address) } catch { $rejected += $address }
}
$probes = [ordered] @{}
foreach ($address in @(':10062', '0.0.0.0:10062', '10.0.0.5:10062', '[::]:10062')) {
    $probes[$address] = Get-HealthProbeUrl -ListenAddress $address
}

[pscustomobject] @{
    expectedArguments = @(Get-NodeOptions) + $exporterArguments
    nodeOptions = @(Get-NodeOptions)
    receivedArguments = ($received | ConvertFrom-Json)
    service = [pscustomobject] @{
        id = $document.service.id
        name = $document.service.name
        executable = $document.service.executable
        workingdirectory = $document.service.workingdirectory
        depend = @($document.service.depend)
        startmode = $document.service.startmode
        stoptimeout = $document.service.stoptimeout
        logpath = $document.service.logpath
        logmode = $document.service.log.mode
        env = $document.service.env.name + '=' + $document.service.env.value
        hasServiceAccount = [bool] $document.SelectSingleNode('/service/serviceaccount')
    }
    ports = $ports
    rejected = $rejected
    probes = $probes
} | ConvertTo-Json -Depth 5 -Compress
`;

/** Asynchronous, so that the two PowerShell runs of the tests below overlap. */
async function runPwshScript(scriptSource: string, scriptArguments: string[]): Promise<string> {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'hvic-pwsh-'));
  const scriptPath = path.join(scratch, 'harness.ps1');
  fs.writeFileSync(scriptPath, scriptSource);
  try {
    const result = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(pwsh, ['-NoProfile', '-NonInteractive', '-File', scriptPath, ...scriptArguments], { encoding: 'utf8', timeout: 45_000 }, (_error, stdout, stderr) =>
        resolve({ status: child.exitCode, stdout, stderr }),
      );
    });
    if (result.status !== 0) {
      throw new Error(`pwsh exited ${result.status}: ${result.stderr}\n${result.stdout}`);
    }
    return result.stdout;
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

async function analyze(scriptPaths: string[]): Promise<ScriptReport[]> {
  const output = await runPwshScript(analyzerSource, scriptPaths);
  return JSON.parse(output) as ScriptReport[];
}

describe('Windows service scripts, without PowerShell', () => {
  test.each([installScript, uninstallScript])('%s is ASCII, so Windows PowerShell 5.1 reads it right without a BOM', (scriptPath) => {
    // 5.1 reads BOM-less files in the ANSI code page: any non-ASCII character would be mangled.
    const bytes = fs.readFileSync(scriptPath);
    const firstNonAscii = bytes.findIndex((byte) => byte > 0x7f);
    expect(firstNonAscii).toBe(-1);
  });

  test('install-service.ps1 sets restart on failure, delayed automatic start and the firewall rule', () => {
    const text = fs.readFileSync(installScript, 'utf8');
    expect(text).toMatch(/'failure', \$ServiceName, 'reset=', '\d+', 'actions=', 'restart\/\d+/);
    expect(text).toMatch(/'failureflag', \$ServiceName, '1'/);
    expect(text).toMatch(/'start=', 'delayed-auto'/);
    expect(text).toMatch(/New-NetFirewallRule\b[^\n]*-Group \$ServiceName/);
    expect(text).toContain("'S-1-5-32-578'");
  });

  test('uninstall-service.ps1 removes what install-service.ps1 adds', () => {
    const text = fs.readFileSync(uninstallScript, 'utf8');
    expect(text).toMatch(/Get-NetFirewallRule -Group \$ServiceName[^\n]*\| Remove-NetFirewallRule/);
    expect(text).toMatch(/Remove-LocalGroupMember -SID \$HyperVAdministratorsSid/);
    expect(text).toMatch(/& \$wrapperPath uninstall/);
  });
});

describeWithTools(
  ['pwsh'],
  'Windows service scripts, parsed by PowerShell',
  () => {
    jest.setTimeout(60_000);

    // Starting PowerShell is most of the time these tests take: one analyzer run reads the two service
    // scripts and the two samples of the second test (each file gets a report of its own), and the
    // harness of the third test runs in a second PowerShell at the same time.
    let scratch: string;
    let modern: string;
    let broken: string;
    let analyzed: Promise<ScriptReport[]>;
    beforeAll(() => {
      scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'hvic-ps7-'));
      modern = path.join(scratch, 'modern.ps1');
      broken = path.join(scratch, 'broken.ps1');
      fs.writeFileSync(
        modern,
        [
          '#Requires -Version 7.0',
          '$port = $env:PORT ?? 10062',
          '$mode = $secure ? "https" : "http"',
          'Test-Path C:\\x && Write-Host ok',
          '$length = ${maybe}?.Length',
          '$settings = Get-Content x.json | ConvertFrom-Json -AsHashtable',
          'Join-Path C:\\ a b',
          'Set-Content -Path x -Value y -Encoding utf8NoBOM',
          '',
        ].join('\n'),
      );
      fs.writeFileSync(broken, 'function Broken {\n  if ($true) {\n');
      analyzed = analyze([installScript, uninstallScript, modern, broken]);
      // Awaited by the tests: a failure meanwhile must fail them, not crash the worker.
      analyzed.catch(() => undefined);
    });
    afterAll(async () => {
      await analyzed?.catch(() => undefined);
      if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
    });
    const reportsOf = async (...scriptPaths: string[]): Promise<ScriptReport[]> => (await analyzed).filter((report) => scriptPaths.includes(report.path));

    test.concurrent('both scripts parse, need 5.1 and elevation, and use no PowerShell 6+ syntax, parameters or commands', async () => {
      const reports = await reportsOf(installScript, uninstallScript);
      expect(reports).toHaveLength(2);
      for (const report of reports) {
        expect({ path: report.path, parseErrors: report.parseErrors }).toEqual({ path: report.path, parseErrors: [] });
        expect({ path: report.path, newerSyntax: report.newerSyntax }).toEqual({ path: report.path, newerSyntax: [] });
        expect({ path: report.path, newerCommands: report.newerCommands }).toEqual({ path: report.path, newerCommands: [] });
        expect(report.requiredVersion).toBe('5.1');
        expect(report.requiresElevation).toBe(true);
      }
    });

    test.concurrent('the analyzer catches PowerShell 7 syntax and a parse error (it can fail)', async () => {
      const [modernReport, brokenReport] = await reportsOf(modern, broken);
      expect(modernReport?.parseErrors).toEqual([]);
      expect(modernReport?.newerSyntax.map((finding) => finding.split(' ')[0])).toEqual(
        expect.arrayContaining(['QuestionQuestion', 'QuestionMark', 'AndAnd', 'QuestionDot']),
      );
      expect(modernReport?.newerCommands.join('\n')).toMatch(/ConvertFrom-Json -AsHashtable/);
      expect(modernReport?.newerCommands.join('\n')).toMatch(/Join-Path with 3 paths/);
      expect(modernReport?.newerCommands.join('\n')).toMatch(/utf8NoBOM/);
      expect(modernReport?.requiredVersion).toBe('7.0');
      expect(brokenReport?.parseErrors.length).toBeGreaterThan(0);
    });

    test.concurrent('the WinSW configuration runs node with dist\\main.js and the flags exactly as given', async () => {
      const report = JSON.parse(await runPwshScript(helperHarnessSource, ['-InstallScript', installScript, '-NodePath', process.execPath])) as {
        expectedArguments: string[];
        nodeOptions: string[];
        receivedArguments: string[];
        service: Record<string, unknown>;
        ports: Record<string, number>;
        rejected: string[];
        probes: Record<string, string>;
      };
      // Quoting round trip: spaces, quotes, trailing backslashes, '&' and '<' (XML), and an empty argument.
      expect(report.receivedArguments).toEqual(report.expectedArguments);
      // node runs with the node options of src/main.ts's first line, ahead of dist\main.js.
      expect(report.nodeOptions).toEqual(runtimeSettingsOf(repoPath('src', 'main.ts')).nodeOptions);
      expect(report.service).toEqual({
        id: 'hyperv-ic-exporter',
        name: 'Hyper-V IC exporter & friends',
        executable: 'C:\\Program Files\\nodejs\\node.exe',
        workingdirectory: 'C:\\Program Files\\hyperv-ic-exporter',
        depend: ['vmms'],
        startmode: 'Automatic',
        stoptimeout: '20 sec',
        logpath: 'C:\\ProgramData\\hyperv-ic-exporter\\logs',
        logmode: 'roll-by-size',
        env: 'NODE_ENV=production',
        // Credentials never go into the XML file on disk.
        hasServiceAccount: false,
      });
      expect(report.ports).toEqual({
        ':10062': 10062,
        '0.0.0.0:9182': 9182,
        '127.0.0.1:10062': 10062,
        '[::]:10063': 10063,
        '[::1]:10064': 10064,
        'hv01.contoso.com:8080': 8080,
      });
      expect(report.rejected).toEqual(['10062', ':0', ':70000', 'host:port', ':10062/metrics']);
      expect(report.probes).toEqual({
        ':10062': 'http://127.0.0.1:10062/-/healthy',
        '0.0.0.0:10062': 'http://127.0.0.1:10062/-/healthy',
        '10.0.0.5:10062': 'http://10.0.0.5:10062/-/healthy',
        '[::]:10062': 'http://[::1]:10062/-/healthy',
      });
    });
  },
);
