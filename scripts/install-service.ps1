#Requires -Version 5.1
#Requires -RunAsAdministrator
<#
.SYNOPSIS
    Registers hyperv-ic-exporter as a Windows service that starts automatically and restarts on failure.

.DESCRIPTION
    Node.js cannot talk to the Service Control Manager itself, so the service binary is WinSW (Windows
    Service Wrapper, MIT licence, the wrapper Jenkins uses for its Windows service). WinSW starts
    node.exe with dist\main.js and the exporter flags, writes its output to rolling log files, and
    stops it with Ctrl+C so the exporter can shut its PowerShell session down cleanly.
    docs\windows-service.md explains the choice and every step this script takes.

    The service runs under one of:
      * the virtual account NT SERVICE\<ServiceName> (default; no password; local host only),
      * a group managed service account (-ManagedServiceAccount 'CONTOSO\hvic-exporter$'),
      * a user account (-Credential).
    The account must be in the local "Hyper-V Administrators" group (SID S-1-5-32-578, looked up by
    SID because the group name is localized). The virtual account is added automatically; other
    accounts are checked and a warning is printed unless -AddToHyperVAdministrators is given.

    Steps: resolve node.exe and dist\main.js, obtain WinSW, write the WinSW configuration under
    %ProgramData%\hyperv-ic-exporter, install the service, set its account, grant "Log on as a
    service" where needed, set delayed automatic start and restart-on-failure actions (sc.exe failure),
    restrict the data folder's ACL, add the inbound firewall rule for the listen port, start the
    service and wait for /-/healthy.

.PARAMETER ManagedServiceAccount
    A group managed service account, DOMAIN\name$. The host must be allowed to retrieve its password
    (Install-ADServiceAccount / Test-ADServiceAccount).

.PARAMETER Credential
    A domain or local user account and its password. The password is handed to the Service Control
    Manager through CIM and is never written to disk or to a command line.

.PARAMETER ExporterDirectory
    The installed package folder that contains dist\main.js. Defaults to this script's parent folder.
    It must be readable by the service account: do not install under C:\Users.

.PARAMETER ExporterArguments
    Exporter flags, e.g. '--source=powershell', '--sample.interval=30s', '--web.config.file=C:\...'.
    The listen address is given separately with -ListenAddress because the firewall rule needs it.

.PARAMETER WinSWPath
    A WinSW executable you have vetted (e.g. WinSW 2.x from its GitHub releases). Without it the
    script takes the WinSW 1.17 binary shipped in the npm package node-windows (pinned version,
    SHA-256 checked).

.EXAMPLE
    .\install-service.ps1

    Virtual account, default flags (--source=powershell, port 10062), firewall open to the Domain and
    Private profiles.

.EXAMPLE
    .\install-service.ps1 -ManagedServiceAccount 'CONTOSO\hvic-exporter$' -FirewallRemoteAddress 10.1.2.3 -ExporterArguments '--source=powershell','--sample.interval=30s'
#>
[CmdletBinding(SupportsShouldProcess = $true, DefaultParameterSetName = 'VirtualAccount')]
param(
    [Parameter(Mandatory = $true, ParameterSetName = 'ManagedServiceAccount')]
    [ValidatePattern('^[^\\]+\\[^\\]+\$$')]
    [string] $ManagedServiceAccount,

    [Parameter(Mandatory = $true, ParameterSetName = 'UserAccount')]
    [System.Management.Automation.PSCredential] $Credential,

    [ValidatePattern('^[A-Za-z0-9_.-]+$')]
    [string] $ServiceName = 'hyperv-ic-exporter',

    [string] $DisplayName = 'Hyper-V integration components exporter',

    [string] $ExporterDirectory = (Split-Path -Parent $PSScriptRoot),

    [string] $NodePath,

    [string[]] $ExporterArguments = @('--source=powershell', '--log.format=json'),

    [string] $ListenAddress = ':10062',

    [string] $DataDirectory = (Join-Path $env:ProgramData 'hyperv-ic-exporter'),

    [string] $WinSWPath,

    [string[]] $FirewallRemoteAddress = @('Any'),

    [ValidateSet('Domain', 'Private', 'Public', 'Any')]
    [string[]] $FirewallProfile = @('Domain', 'Private'),

    [switch] $SkipFirewallRule,

    [switch] $AddToHyperVAdministrators,

    [switch] $NoStart
)

Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'

# Well-known SID of BUILTIN\Hyper-V Administrators; its display name differs per Windows language.
$HyperVAdministratorsSid = 'S-1-5-32-578'
# WinSW as shipped inside the npm package node-windows. Both the 0.1.14 and the 1.0.0-beta.8 release
# carry this exact file (WinSW 1.17.0.0, .NET Framework 2.0/4.0).
$PinnedNodeWindowsPackage = 'node-windows@1.0.0-beta.8'
$PinnedWinSWSha256 = '5859B114D96800A2B98EF9D19EAA573A786A422DAD324547EF25BE181389DF01'
$PinnedWinSWConfigSha256 = '8EC3C3F40031C39382B11133C0D17E1EAB1854F7DCC4AC38C991A8BCED5086F4'

# ---- pure helpers (exercised by test/packaging/windows-service.test.ts) -----------------------------

function ConvertTo-CommandLineArgument {
    # Quotes one argument so that CommandLineToArgvW / the C runtime (which node.exe uses) reads it
    # back unchanged: backslashes are literal except before a double quote.
    param([Parameter(Mandatory = $true)][AllowEmptyString()][string] $Argument)
    if ($Argument.Length -gt 0 -and $Argument -notmatch '[\s"]') {
        return $Argument
    }
    $builder = New-Object System.Text.StringBuilder
    [void] $builder.Append('"')
    $pendingBackslashes = 0
    foreach ($character in $Argument.ToCharArray()) {
        if ($character -eq [char] '\') {
            $pendingBackslashes++
            continue
        }
        if ($character -eq [char] '"') {
            [void] $builder.Append([char] '\', (2 * $pendingBackslashes) + 1)
        }
        elseif ($pendingBackslashes -gt 0) {
            [void] $builder.Append([char] '\', $pendingBackslashes)
        }
        $pendingBackslashes = 0
        [void] $builder.Append($character)
    }
    if ($pendingBackslashes -gt 0) {
        [void] $builder.Append([char] '\', 2 * $pendingBackslashes)
    }
    [void] $builder.Append('"')
    return $builder.ToString()
}

function Join-CommandLine {
    param([Parameter(Mandatory = $true)][AllowEmptyCollection()][AllowEmptyString()][string[]] $Arguments)
    $quoted = foreach ($argument in $Arguments) { ConvertTo-CommandLineArgument -Argument $argument }
    return ($quoted -join ' ')
}

function Get-ListenPort {
    # ':10062', '0.0.0.0:10062', '127.0.0.1:10062', '[::]:10062' -> 10062
    param([Parameter(Mandatory = $true)][string] $ListenAddress)
    $match = [regex]::Match($ListenAddress, '^(?:\[[0-9A-Fa-f:.%a-zA-Z]*\]|[^:\[\]]*):(\d{1,5})$')
    if (-not $match.Success) {
        throw "Listen address '$ListenAddress' is not of the form [host]:port (e.g. ':10062')."
    }
    $port = [int] $match.Groups[1].Value
    if ($port -lt 1 -or $port -gt 65535) {
        throw "Listen address '$ListenAddress' has port $port, outside 1-65535."
    }
    return $port
}

function Get-HealthProbeUrl {
    # The exporter listens on all addresses when the host part is empty or a wildcard; probe loopback.
    param([Parameter(Mandatory = $true)][string] $ListenAddress)
    $port = Get-ListenPort -ListenAddress $ListenAddress
    $hostPart = $ListenAddress.Substring(0, $ListenAddress.LastIndexOf(':'))
    if ($hostPart -eq '' -or $hostPart -eq '0.0.0.0') { $hostPart = '127.0.0.1' }
    if ($hostPart -eq '[::]') { $hostPart = '[::1]' }
    return "http://${hostPart}:${port}/-/healthy"
}

function Get-NodeOptions {
    # The node options of dist\main.js's first line (docs/performance.md): a 2 MiB young generation and
    # an old generation let grow 25% before it is collected keep the memory small and flat. (Its glibc
    # settings do not apply to Windows.) test/packaging/windows-service.test.ts keeps the two in step.
    @('--max-semi-space-size=8', '--heap-growing-percent=25')
}

function New-WinSWConfiguration {
    # Returns the WinSW XML. Only elements understood by WinSW 1.17 and 2.x are used, so an admin may
    # swap in a newer WinSW with -WinSWPath. No credentials go into this file.
    param(
        [Parameter(Mandatory = $true)][string] $ServiceName,
        [Parameter(Mandatory = $true)][string] $DisplayName,
        [Parameter(Mandatory = $true)][string] $NodePath,
        [Parameter(Mandatory = $true)][string] $MainScriptPath,
        [Parameter(Mandatory = $true)][AllowEmptyCollection()][AllowEmptyString()][string[]] $ExporterArguments,
        [Parameter(Mandatory = $true)][string] $WorkingDirectory,
        [Parameter(Mandatory = $true)][string] $LogDirectory,
        [string[]] $DependsOn = @()
    )
    $settings = New-Object System.Xml.XmlWriterSettings
    $settings.Indent = $true
    $settings.OmitXmlDeclaration = $false
    $settings.Encoding = New-Object System.Text.UTF8Encoding($false)
    $buffer = New-Object System.IO.StringWriter
    $writer = [System.Xml.XmlWriter]::Create($buffer, $settings)
    $writer.WriteStartElement('service')
    $writer.WriteElementString('id', $ServiceName)
    $writer.WriteElementString('name', $DisplayName)
    $writer.WriteElementString('description', 'Prometheus exporter for Hyper-V integration components (heartbeat, KVP exchange, shutdown, time sync, VSS, guest service interface) per VM.')
    $writer.WriteElementString('executable', $NodePath)
    $writer.WriteElementString('arguments', (Join-CommandLine -Arguments (@(Get-NodeOptions) + @($MainScriptPath) + $ExporterArguments)))
    $writer.WriteElementString('workingdirectory', $WorkingDirectory)
    $writer.WriteStartElement('env')
    $writer.WriteAttributeString('name', 'NODE_ENV')
    $writer.WriteAttributeString('value', 'production')
    $writer.WriteEndElement()
    foreach ($dependency in $DependsOn) {
        $writer.WriteElementString('depend', $dependency)
    }
    $writer.WriteElementString('startmode', 'Automatic')
    # WinSW sends Ctrl+C first; the exporter closes its PowerShell session and exits within seconds.
    $writer.WriteElementString('stoptimeout', '20 sec')
    $writer.WriteElementString('logpath', $LogDirectory)
    $writer.WriteStartElement('log')
    $writer.WriteAttributeString('mode', 'roll-by-size')
    $writer.WriteElementString('sizeThreshold', '10240')
    $writer.WriteElementString('keepFiles', '8')
    $writer.WriteEndElement()
    $writer.WriteEndElement()
    $writer.Flush()
    $writer.Close()
    return $buffer.ToString()
}

# ---- host-side steps ---------------------------------------------------------------------------------

function Resolve-NodeExecutable {
    param([string] $RequestedPath)
    $candidate = $RequestedPath
    if (-not $candidate) {
        $command = Get-Command -Name 'node.exe' -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
        if (-not $command) { throw 'node.exe was not found on PATH; install Node.js 20 or pass -NodePath.' }
        $candidate = $command.Source
    }
    if (-not (Test-Path -LiteralPath $candidate -PathType Leaf)) { throw "Node.js executable '$candidate' does not exist." }
    $versionText = (& $candidate --version) | Select-Object -First 1
    if ($versionText -notmatch '^v(\d+)\.') { throw "Could not read the Node.js version from '$candidate'." }
    if ([int] $Matches[1] -lt 20) { throw "hyperv-ic-exporter needs Node.js 20 or newer; '$candidate' is $versionText." }
    return (Resolve-Path -LiteralPath $candidate).ProviderPath
}

function Get-WinSWFromNpm {
    # npm is on the host already (it installed the exporter); it unpacks the tarball on every Windows
    # version, whereas tar.exe only exists from Windows Server 2019 on.
    param([Parameter(Mandatory = $true)][string] $Destination)
    $npm = Get-Command -Name 'npm.cmd' -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
    if (-not $npm) { throw 'npm.cmd was not found; pass -WinSWPath with a WinSW executable instead.' }
    $scratch = Join-Path ([System.IO.Path]::GetTempPath()) ("hyperv-ic-exporter-winsw-" + [guid]::NewGuid().ToString('N'))
    New-Item -ItemType Directory -Path $scratch | Out-Null
    try {
        Write-Host "Fetching WinSW from the npm package $PinnedNodeWindowsPackage"
        & $npm.Source install --prefix $scratch --no-save --ignore-scripts --no-audit --no-fund $PinnedNodeWindowsPackage | Out-Null
        if ($LASTEXITCODE -ne 0) { throw "npm install $PinnedNodeWindowsPackage failed with exit code $LASTEXITCODE." }
        $winswFolder = Join-Path $scratch 'node_modules\node-windows\bin\winsw'
        $binary = Join-Path $winswFolder 'winsw.exe'
        $configuration = Join-Path $winswFolder 'winsw.exe.config'
        Assert-FileHash -Path $binary -ExpectedSha256 $PinnedWinSWSha256
        Assert-FileHash -Path $configuration -ExpectedSha256 $PinnedWinSWConfigSha256
        Copy-Item -LiteralPath $binary -Destination $Destination -Force
        # WinSW 1.17 targets .NET 2.0; this file lets it run on hosts that only have .NET 4.x.
        Copy-Item -LiteralPath $configuration -Destination ($Destination + '.config') -Force
    }
    finally {
        Remove-Item -LiteralPath $scratch -Recurse -Force -ErrorAction SilentlyContinue
    }
}

function Assert-FileHash {
    param([Parameter(Mandatory = $true)][string] $Path, [Parameter(Mandatory = $true)][string] $ExpectedSha256)
    $actual = (Get-FileHash -LiteralPath $Path -Algorithm SHA256).Hash
    if ($actual -ne $ExpectedSha256) {
        throw "SHA-256 of '$Path' is $actual, expected $ExpectedSha256. Refusing to install it."
    }
}

function Get-AccountSid {
    param([Parameter(Mandatory = $true)][string] $AccountName)
    $account = New-Object System.Security.Principal.NTAccount($AccountName)
    return $account.Translate([System.Security.Principal.SecurityIdentifier])
}

function Test-HyperVAdministratorsMember {
    # Direct membership only: membership through a nested domain group is not visible here.
    param([Parameter(Mandatory = $true)][System.Security.Principal.SecurityIdentifier] $AccountSid)
    $members = Get-LocalGroupMember -SID $HyperVAdministratorsSid
    foreach ($member in $members) {
        if ($member.SID -and $member.SID.Value -eq $AccountSid.Value) { return $true }
    }
    return $false
}

function Add-HyperVAdministratorsMember {
    # By SID string: the cmdlet resolves it, whatever the account's or the group's localized name.
    # The ADSI fallback covers hosts where Add-LocalGroupMember cannot resolve a virtual account.
    param([Parameter(Mandatory = $true)][System.Security.Principal.SecurityIdentifier] $AccountSid)
    try {
        Add-LocalGroupMember -SID $HyperVAdministratorsSid -Member $AccountSid.Value -ErrorAction Stop
    }
    catch {
        $groupName = (New-Object System.Security.Principal.SecurityIdentifier($HyperVAdministratorsSid)).Translate([System.Security.Principal.NTAccount]).Value.Split('\')[-1]
        $group = [ADSI] "WinNT://$env:COMPUTERNAME/$groupName,group"
        $group.Add("WinNT://$($AccountSid.Value)")
    }
}

function Grant-ServiceLogonRight {
    # sc.exe and CIM set the account but, unlike services.msc, do not grant "Log on as a service".
    param([Parameter(Mandatory = $true)][System.Security.Principal.SecurityIdentifier] $AccountSid)
    if (-not ('HypervIcExporter.LsaRights' -as [type])) {
        Add-Type -TypeDefinition @'
using System;
using System.Runtime.InteropServices;
namespace HypervIcExporter {
    public static class LsaRights {
        [StructLayout(LayoutKind.Sequential)]
        struct LSA_UNICODE_STRING { public ushort Length; public ushort MaximumLength; public IntPtr Buffer; }
        [StructLayout(LayoutKind.Sequential)]
        struct LSA_OBJECT_ATTRIBUTES { public int Length; public IntPtr RootDirectory; public IntPtr ObjectName; public uint Attributes; public IntPtr SecurityDescriptor; public IntPtr SecurityQualityOfService; }
        [DllImport("advapi32.dll")] static extern uint LsaOpenPolicy(IntPtr systemName, ref LSA_OBJECT_ATTRIBUTES attributes, uint access, out IntPtr handle);
        [DllImport("advapi32.dll")] static extern uint LsaAddAccountRights(IntPtr handle, byte[] sid, LSA_UNICODE_STRING[] rights, uint count);
        [DllImport("advapi32.dll")] static extern uint LsaClose(IntPtr handle);
        [DllImport("advapi32.dll")] static extern int LsaNtStatusToWinError(uint status);
        const uint POLICY_CREATE_ACCOUNT = 0x10, POLICY_LOOKUP_NAMES = 0x800;
        public static void Add(byte[] sid, string right) {
            var attributes = new LSA_OBJECT_ATTRIBUTES();
            IntPtr policy;
            uint status = LsaOpenPolicy(IntPtr.Zero, ref attributes, POLICY_CREATE_ACCOUNT | POLICY_LOOKUP_NAMES, out policy);
            if (status != 0) throw new System.ComponentModel.Win32Exception(LsaNtStatusToWinError(status));
            IntPtr buffer = Marshal.StringToHGlobalUni(right);
            try {
                var rights = new LSA_UNICODE_STRING[1];
                rights[0].Buffer = buffer;
                rights[0].Length = (ushort)(right.Length * 2);
                rights[0].MaximumLength = (ushort)((right.Length + 1) * 2);
                status = LsaAddAccountRights(policy, sid, rights, 1);
                if (status != 0) throw new System.ComponentModel.Win32Exception(LsaNtStatusToWinError(status));
            } finally {
                Marshal.FreeHGlobal(buffer);
                LsaClose(policy);
            }
        }
    }
}
'@
    }
    $sidBytes = New-Object byte[] $AccountSid.BinaryLength
    $AccountSid.GetBinaryForm($sidBytes, 0)
    [HypervIcExporter.LsaRights]::Add($sidBytes, 'SeServiceLogonRight')
}

function Invoke-ServiceControl {
    # sc.exe reports failure through its exit code only.
    param([Parameter(Mandatory = $true)][string[]] $Arguments)
    $output = & "$env:SystemRoot\System32\sc.exe" @Arguments
    if ($LASTEXITCODE -ne 0) { throw ("sc.exe " + ($Arguments -join ' ') + " failed ($LASTEXITCODE): " + ($output -join ' ')) }
}

function Set-ServiceAccount {
    param(
        [Parameter(Mandatory = $true)][string] $ServiceName,
        [Parameter(Mandatory = $true)][string] $AccountName,
        [AllowEmptyString()][string] $Password = ''
    )
    $service = Get-CimInstance -ClassName Win32_Service -Filter "Name='$ServiceName'"
    $result = Invoke-CimMethod -InputObject $service -MethodName Change -Arguments @{ StartName = $AccountName; StartPassword = $Password }
    if ($result.ReturnValue -ne 0) {
        throw "Setting the service account to '$AccountName' failed: Win32_Service.Change returned $($result.ReturnValue)."
    }
}

function Wait-ExporterHealthy {
    param([Parameter(Mandatory = $true)][string] $Url, [int] $TimeoutSeconds = 30)
    $deadline = (Get-Date).AddSeconds($TimeoutSeconds)
    while ((Get-Date) -lt $deadline) {
        try {
            $response = Invoke-WebRequest -Uri $Url -UseBasicParsing -TimeoutSec 5
            if ($response.StatusCode -eq 200) { return $true }
        }
        catch {
            Start-Sleep -Seconds 1
        }
    }
    return $false
}

# ---- main ---------------------------------------------------------------------------------------------

if ($env:OS -ne 'Windows_NT') { throw 'install-service.ps1 registers a Windows service and runs on Windows only.' }

foreach ($argument in $ExporterArguments) {
    if ($argument -like '--web.listen-address*') {
        throw 'Give the listen address with -ListenAddress, not in -ExporterArguments: the firewall rule and the health probe need it.'
    }
}
$listenPort = Get-ListenPort -ListenAddress $ListenAddress
$allExporterArguments = @($ExporterArguments) + @("--web.listen-address=$ListenAddress")

$ExporterDirectory = (Resolve-Path -LiteralPath $ExporterDirectory).ProviderPath
$mainScriptPath = Join-Path $ExporterDirectory 'dist\main.js'
if (-not (Test-Path -LiteralPath $mainScriptPath -PathType Leaf)) {
    throw "'$mainScriptPath' does not exist. Point -ExporterDirectory at the installed package (the folder with package.json and dist\)."
}
if ($ExporterDirectory -like "$env:SystemDrive\Users\*") {
    Write-Warning "The exporter lives under '$ExporterDirectory'; service accounts usually cannot read user profiles. Install it with: npm install --prefix `"$env:ProgramFiles\hyperv-ic-exporter`" hyperv-ic-exporter"
}
$nodeExecutable = Resolve-NodeExecutable -RequestedPath $NodePath

if (Get-Service -Name $ServiceName -ErrorAction SilentlyContinue) {
    throw "A service named '$ServiceName' exists already. Run uninstall-service.ps1 first, or choose -ServiceName."
}

$computerNameGiven = $false
foreach ($argument in $ExporterArguments) { if ($argument -like '--powershell.computer-name*') { $computerNameGiven = $true } }
$dependsOn = @()
if (Get-Service -Name 'vmms' -ErrorAction SilentlyContinue) {
    if (-not $computerNameGiven) { $dependsOn = @('vmms') }
}
elseif (-not $computerNameGiven) {
    Write-Warning 'The Hyper-V Virtual Machine Management service (vmms) is not installed here; the exporter will report collection errors until Hyper-V is present or --powershell.computer-name points at a Hyper-V host.'
}

switch ($PSCmdlet.ParameterSetName) {
    'ManagedServiceAccount' { $accountName = $ManagedServiceAccount; $accountPassword = '' }
    'UserAccount' { $accountName = $Credential.UserName; $accountPassword = $Credential.GetNetworkCredential().Password }
    default { $accountName = "NT SERVICE\$ServiceName"; $accountPassword = '' }
}
if ($PSCmdlet.ParameterSetName -ne 'VirtualAccount') {
    # Fails early for a misspelt account, before anything is installed.
    $accountSid = Get-AccountSid -AccountName $accountName
}

$serviceDirectory = Join-Path $DataDirectory 'service'
$logDirectory = Join-Path $DataDirectory 'logs'
$wrapperPath = Join-Path $serviceDirectory "$ServiceName.exe"
$wrapperConfigurationPath = Join-Path $serviceDirectory "$ServiceName.xml"

if ($PSCmdlet.ShouldProcess($DataDirectory, 'Create the service and log folders')) {
    New-Item -ItemType Directory -Path $serviceDirectory -Force | Out-Null
    New-Item -ItemType Directory -Path $logDirectory -Force | Out-Null
}

if ($PSCmdlet.ShouldProcess($wrapperPath, 'Install the WinSW service wrapper')) {
    if ($WinSWPath) {
        Copy-Item -LiteralPath $WinSWPath -Destination $wrapperPath -Force
        if (Test-Path -LiteralPath ($WinSWPath + '.config')) { Copy-Item -LiteralPath ($WinSWPath + '.config') -Destination ($wrapperPath + '.config') -Force }
        $suppliedHash = (Get-FileHash -LiteralPath $wrapperPath -Algorithm SHA256).Hash
        Write-Host "Using the WinSW you supplied: $WinSWPath (SHA-256 $suppliedHash, version $((Get-Item -LiteralPath $wrapperPath).VersionInfo.FileVersion))"
    }
    else {
        Get-WinSWFromNpm -Destination $wrapperPath
    }
    $configurationXml = New-WinSWConfiguration -ServiceName $ServiceName -DisplayName $DisplayName -NodePath $nodeExecutable `
        -MainScriptPath $mainScriptPath -ExporterArguments $allExporterArguments -WorkingDirectory $ExporterDirectory `
        -LogDirectory $logDirectory -DependsOn $dependsOn
    [System.IO.File]::WriteAllText($wrapperConfigurationPath, $configurationXml, (New-Object System.Text.UTF8Encoding($false)))
}

if ($PSCmdlet.ShouldProcess($ServiceName, 'Register the Windows service')) {
    & $wrapperPath install
    if ($LASTEXITCODE -ne 0) { throw "WinSW install failed with exit code $LASTEXITCODE." }

    Set-ServiceAccount -ServiceName $ServiceName -AccountName $accountName -Password $accountPassword
    if ($PSCmdlet.ParameterSetName -eq 'VirtualAccount') {
        # NT SERVICE\<name> resolves only once the service exists.
        $accountSid = Get-AccountSid -AccountName $accountName
    }
    else {
        Grant-ServiceLogonRight -AccountSid $accountSid
    }

    # Delayed start lets WMI and VMMS settle after boot. Restart after 10 s, 30 s, then every 60 s;
    # the failure count resets after a day without failures. failureflag 1 also counts an exit with a
    # non-zero code (a stop the exporter chose, e.g. a bad flag) as a failure.
    Invoke-ServiceControl -Arguments @('config', $ServiceName, 'start=', 'delayed-auto')
    Invoke-ServiceControl -Arguments @('failure', $ServiceName, 'reset=', '86400', 'actions=', 'restart/10000/restart/30000/restart/60000')
    Invoke-ServiceControl -Arguments @('failureflag', $ServiceName, '1')
}

if ($PSCmdlet.ShouldProcess($accountName, 'Check or add membership of Hyper-V Administrators')) {
    $isMember = $false
    try {
        $isMember = Test-HyperVAdministratorsMember -AccountSid $accountSid
    }
    catch {
        Write-Warning "Could not list the members of Hyper-V Administrators ($($_.Exception.Message))."
    }
    if (-not $isMember) {
        if ($PSCmdlet.ParameterSetName -eq 'VirtualAccount' -or $AddToHyperVAdministrators) {
            Add-HyperVAdministratorsMember -AccountSid $accountSid
            Write-Host "Added $accountName to Hyper-V Administrators."
        }
        else {
            Write-Warning "$accountName is not a direct member of Hyper-V Administrators ($HyperVAdministratorsSid). Without it the exporter cannot read root\virtualization\v2 and every sample fails. Re-run with -AddToHyperVAdministrators, or ignore this if the account is a member through a domain group."
        }
    }
}

if ($PSCmdlet.ShouldProcess($DataDirectory, 'Restrict the folder ACL (SYSTEM and Administrators full, Users read, service account writes logs)')) {
    # %ProgramData% lets every user create files in new subfolders; the wrapper's folder must not.
    & icacls.exe $DataDirectory /inheritance:r /grant:r '*S-1-5-18:(OI)(CI)F' '*S-1-5-32-544:(OI)(CI)F' '*S-1-5-32-545:(OI)(CI)RX' | Out-Null
    if ($LASTEXITCODE -ne 0) { throw "icacls on '$DataDirectory' failed with exit code $LASTEXITCODE." }
    & icacls.exe $logDirectory /grant ('*' + $accountSid.Value + ':(OI)(CI)M') | Out-Null
    if ($LASTEXITCODE -ne 0) { throw "icacls on '$logDirectory' failed with exit code $LASTEXITCODE." }
}

if (-not $SkipFirewallRule -and $PSCmdlet.ShouldProcess("TCP $listenPort", 'Add the inbound firewall rule')) {
    # Grouped by service name so uninstall-service.ps1 finds the rule whatever port it opened.
    Get-NetFirewallRule -Group $ServiceName -ErrorAction SilentlyContinue | Remove-NetFirewallRule
    New-NetFirewallRule -Name "$ServiceName-tcp-$listenPort" -DisplayName "$DisplayName (TCP $listenPort)" -Group $ServiceName `
        -Description 'Lets Prometheus scrape hyperv-ic-exporter.' -Direction Inbound -Action Allow -Protocol TCP `
        -LocalPort $listenPort -RemoteAddress $FirewallRemoteAddress -Profile $FirewallProfile | Out-Null
}

if (-not $NoStart -and $PSCmdlet.ShouldProcess($ServiceName, 'Start the service')) {
    try {
        Start-Service -Name $ServiceName
    }
    catch {
        throw "The service did not start: $($_.Exception.Message) Read $logDirectory\$ServiceName.wrapper.log and $ServiceName.err.log."
    }
    $usesTls = $false
    foreach ($argument in $ExporterArguments) { if ($argument -like '--web.config.file*') { $usesTls = $true } }
    if ($usesTls) {
        Write-Host 'Started. --web.config.file is set (TLS or basic auth), so the plain-HTTP health probe is skipped.'
    }
    else {
        $probeUrl = Get-HealthProbeUrl -ListenAddress $ListenAddress
        if (Wait-ExporterHealthy -Url $probeUrl) {
            Write-Host "Started; $probeUrl answers."
        }
        else {
            Write-Warning "The service started but $probeUrl did not answer within 30 s. Read the logs in $logDirectory."
        }
    }
}

Write-Host ''
Write-Host "Service:   $ServiceName ($accountName, delayed automatic start, restarts on failure)"
Write-Host "Command:   $nodeExecutable $(Join-CommandLine -Arguments (@($mainScriptPath) + $allExporterArguments))"
Write-Host "Logs:      $logDirectory"
Write-Host "Wrapper:   $wrapperPath (configuration $wrapperConfigurationPath)"
if (-not $SkipFirewallRule) { Write-Host "Firewall:  inbound TCP $listenPort from $($FirewallRemoteAddress -join ', ') on $($FirewallProfile -join ', ')" }
