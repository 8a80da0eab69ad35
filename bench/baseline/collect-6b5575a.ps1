# hyperv-ic-exporter collection script (shipped with the package, dot-sourced once per PowerShell process).
#
# The exporter keeps one PowerShell process open and, per sample, sends the single line
#   Get-HyperVIcSample                      (local host)
#   Get-HyperVIcSample -ComputerName 'hv02' (remote host through a CIM session over WinRM)
# which writes one JSON value to stdout: either the sample document, one instance per line
#   {"schemaVersion":1,"computerName":"HV01","collectedAt":"...","classes":{
#   "Msvm_ComputerSystem":[
#   {...},
#   {...}
#   ],
#   ...
#   }}
# or, on one line, an error object {"error":{...}} whose facts the exporter turns into a failure reason.
#
# Rules this file keeps, because it must behave the same in Windows PowerShell 5.1 and PowerShell 7:
# - No PowerShell-7-only syntax or parameters (??, ?., ternary, && / || chains, -AsArray,
#   -EnumsAsStrings); a test walks this file's AST to enforce it.
# - ASCII only: Windows PowerShell 5.1 reads a BOM-less script in the ANSI code page.
# - One Get-CimInstance per class, never one per VM, so the cost of a sample does not grow in round trips
#   with the VM count.
# - Nothing but the JSON on stdout and nothing at all on stderr: any stderr text fails the node-powershell
#   invocation, and warnings land on stdout when PowerShell is hosted through stdin.
# - The JSON is ASCII (non-ASCII text escaped), so the console code page cannot garble it.

# The classes of the sample document and the properties selected from each, in this order. This table
# must equal DOCUMENT_CLASSES in src/document/classes.ts; a test compares the two.
$script:HyperVIcNamespace = 'root/virtualization/v2'
$script:HyperVIcClasses = [ordered]@{
    'Msvm_ComputerSystem'                            = @('Name', 'ElementName', 'EnabledState', 'HealthState', 'OperationalStatus', 'OnTimeInMilliseconds')
    'Msvm_HeartbeatComponent'                        = @('SystemName', 'DeviceID', 'EnabledState', 'OperationalStatus')
    'Msvm_HeartbeatComponentSettingData'             = @('InstanceID', 'EnabledState')
    'Msvm_KvpExchangeComponent'                      = @('SystemName', 'DeviceID', 'EnabledState', 'OperationalStatus', 'GuestIntrinsicExchangeItems', 'GuestExchangeItems')
    'Msvm_KvpExchangeComponentSettingData'           = @('InstanceID', 'EnabledState', 'HostExchangeItems', 'HostOnlyItems')
    'Msvm_ShutdownComponent'                         = @('SystemName', 'DeviceID', 'EnabledState', 'OperationalStatus')
    'Msvm_ShutdownComponentSettingData'              = @('InstanceID', 'EnabledState')
    'Msvm_TimeSyncComponent'                         = @('SystemName', 'DeviceID', 'EnabledState', 'OperationalStatus')
    'Msvm_TimeSyncComponentSettingData'              = @('InstanceID', 'EnabledState')
    'Msvm_VssComponent'                              = @('SystemName', 'DeviceID', 'EnabledState', 'OperationalStatus')
    'Msvm_VssComponentSettingData'                   = @('InstanceID', 'EnabledState')
    'Msvm_GuestServiceInterfaceComponent'            = @('SystemName', 'DeviceID', 'EnabledState', 'OperationalStatus')
    'Msvm_GuestServiceInterfaceComponentSettingData' = @('InstanceID', 'EnabledState')
}

# The CIM session to a remote host, kept across samples so that each sample does not pay a WinRM
# handshake; dropped after any failure so that the next sample reconnects.
$script:HyperVIcCimSession = $null
$script:HyperVIcCimSessionComputerName = $null

# Every non-ASCII character of the output is written as a \uXXXX escape, so the JSON survives any
# console code page: Windows PowerShell writes redirected stdout in the OEM code page unless the session
# switched it to UTF-8 (it does, but a VM named in Chinese must not depend on that). ConvertTo-Json puts
# all text inside JSON strings, the only place where non-ASCII characters can occur and escapes are valid.
$script:HyperVIcEscapeNonAscii = [System.Text.RegularExpressions.MatchEvaluator] {
    param($match)
    '\u{0:x4}' -f [int][char]$match.Value
}

function ConvertTo-HyperVIcAsciiJson {
    param([string] $Json)
    [regex]::Replace($Json, '[^\u0000-\u007F]', $script:HyperVIcEscapeNonAscii)
}

function Get-HyperVIcSessionInfo {
    # Answered once after the script is loaded: proves the script loaded and tells the exporter's log
    # which PowerShell it is talking to.
    $info = [ordered]@{
        pid       = $PID
        psVersion = [string]$PSVersionTable.PSVersion
        psEdition = [string]$PSVersionTable.PSEdition
    }
    ConvertTo-Json -InputObject $info -Compress
}

function Test-HyperVIcGuid {
    param([string] $Text)
    $parsed = [Guid]::Empty
    [Guid]::TryParse($Text, [ref] $parsed)
}

function Get-HyperVIcVmmsStatus {
    # Only meaningful on the local host; the caller asks only when a query failed or came back empty,
    # so a healthy sample costs no service lookup.
    try {
        $service = Get-Service -Name 'vmms' -ErrorAction Stop -WarningAction SilentlyContinue 3>$null 4>$null 5>$null 6>$null
    } catch {
        if ([string]$_.FullyQualifiedErrorId -like 'NoServiceFoundForGivenName*') { return 'NotFound' }
        return 'Unknown'
    }
    if ($null -eq $service) { return 'NotFound' }
    return [string]$service.Status
}

function Get-HyperVIcCimSession {
    param([string] $ComputerName)
    if ($null -ne $script:HyperVIcCimSession -and $script:HyperVIcCimSessionComputerName -eq $ComputerName) {
        return $script:HyperVIcCimSession
    }
    Remove-HyperVIcCimSession
    $session = New-CimSession -ComputerName $ComputerName -ErrorAction Stop -WarningAction SilentlyContinue 3>$null 4>$null 5>$null 6>$null
    $script:HyperVIcCimSession = $session
    $script:HyperVIcCimSessionComputerName = $ComputerName
    return $session
}

function Remove-HyperVIcCimSession {
    if ($null -ne $script:HyperVIcCimSession) {
        try {
            Remove-CimSession -CimSession $script:HyperVIcCimSession -ErrorAction Stop -WarningAction SilentlyContinue 3>$null 4>$null 5>$null 6>$null
        } catch {
            # A session that cannot be removed is already broken; forgetting it is all that matters.
            $null = $_
        }
    }
    $script:HyperVIcCimSession = $null
    $script:HyperVIcCimSessionComputerName = $null
}

function ConvertTo-HyperVIcErrorJson {
    param(
        [string] $Kind,
        [string] $Stage,
        [string] $Message,
        $ErrorRecord,
        $VmmsStatus
    )
    $details = [ordered]@{
        kind                  = $Kind
        stage                 = $Stage
        message               = $Message
        exceptionType         = $null
        hresult               = $null
        nativeErrorCode       = $null
        fullyQualifiedErrorId = $null
        category              = $null
        vmmsStatus            = $VmmsStatus
    }
    if ($null -ne $ErrorRecord) {
        $exception = $ErrorRecord.Exception
        if ($null -ne $exception) {
            $details.message = [string]$exception.Message
            $details.exceptionType = $exception.GetType().FullName
            $details.hresult = '0x{0:X8}' -f $exception.HResult
            # CimException carries the MI result (InvalidNamespace, AccessDenied, ...). Read it late-bound:
            # the type cannot be named where the CIM libraries are absent.
            if ($null -ne $exception.PSObject.Properties['NativeErrorCode']) {
                $details.nativeErrorCode = [string]$exception.NativeErrorCode
            }
        }
        $details.fullyQualifiedErrorId = [string]$ErrorRecord.FullyQualifiedErrorId
        $details.category = [string]$ErrorRecord.CategoryInfo.Category
    }
    ConvertTo-HyperVIcAsciiJson -Json (ConvertTo-Json -InputObject ([ordered]@{ error = $details }) -Depth 3 -Compress)
}

function Get-HyperVIcSample {
    [CmdletBinding()]
    param(
        # Empty: the local host. Otherwise a DNS name or IP address, validated by the exporter.
        [string] $ComputerName = ''
    )

    # Preferences are scoped to this function call; they keep progress bars, warnings and verbose text
    # off stdout. Cmdlet calls below also redirect streams 3-6, which reaches functions in other modules
    # that do not see these variables.
    $ErrorActionPreference = 'Stop'
    $WarningPreference = 'SilentlyContinue'
    $ProgressPreference = 'SilentlyContinue'
    $VerbosePreference = 'SilentlyContinue'
    $DebugPreference = 'SilentlyContinue'
    $InformationPreference = 'SilentlyContinue'

    $isRemote = -not [string]::IsNullOrEmpty($ComputerName)
    $stage = 'start'
    try {
        $cimParameters = @{
            Namespace     = $script:HyperVIcNamespace
            ErrorAction   = 'Stop'
            WarningAction = 'SilentlyContinue'
        }
        if ($isRemote) {
            $stage = 'New-CimSession'
            $cimParameters.CimSession = Get-HyperVIcCimSession -ComputerName $ComputerName
        }

        $classJson = New-Object 'System.Collections.Generic.List[string]'
        $hostName = $null
        foreach ($className in $script:HyperVIcClasses.Keys) {
            $stage = $className
            $properties = [string[]]$script:HyperVIcClasses[$className]
            # Select-Object turns each CIM instance into a plain object with only these properties, so
            # that ConvertTo-Json neither walks CimClass/CimSystemProperties nor emits unselected slots.
            $rows = @(Get-CimInstance @cimParameters -ClassName $className -Property $properties 3>$null 4>$null 5>$null 6>$null |
                    Select-Object -Property $properties)

            if ($className -eq 'Msvm_ComputerSystem') {
                # The host itself is always an instance of Msvm_ComputerSystem. None at all means the
                # account may not see the namespace's contents: a non-admin gets an empty result, not an error.
                if ($rows.Count -eq 0) {
                    $vmmsStatus = $null
                    if (-not $isRemote) { $vmmsStatus = Get-HyperVIcVmmsStatus }
                    return ConvertTo-HyperVIcErrorJson -Kind 'no_computer_system' -Stage $stage -VmmsStatus $vmmsStatus `
                        -Message 'Msvm_ComputerSystem returned no instances, not even the host'
                }
                foreach ($row in $rows) {
                    # A VM's Name is its GUID; the host's Name is the computer name.
                    if (-not (Test-HyperVIcGuid -Text ([string]$row.Name))) { $hostName = [string]$row.Name }
                }
            }

            # One instance per line: the exporter re-parses only the lines that changed since the last
            # sample (most do not: KVP items, settings). Each row is converted on its own, so a class
            # stays an array in both editions however many instances it has.
            $instanceLines = foreach ($row in $rows) { ConvertTo-Json -InputObject $row -Depth 5 -Compress }
            $classOpening = (ConvertTo-Json -InputObject $className -Compress) + ':['
            if ($rows.Count -eq 0) { $classJson.Add($classOpening + ']') }
            else { $classJson.Add($classOpening + "`n" + (@($instanceLines) -join ",`n") + "`n]") }
        }

        if ([string]::IsNullOrEmpty($hostName)) {
            if ($isRemote) { $hostName = $ComputerName } else { $hostName = [Environment]::MachineName }
        }
        $collectedAt = [DateTime]::UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", [Globalization.CultureInfo]::InvariantCulture)
        $document = '{"schemaVersion":1,"computerName":' + (ConvertTo-Json -InputObject $hostName -Compress) +
            ',"collectedAt":"' + $collectedAt + '","classes":{' + "`n" + ($classJson -join ",`n") + "`n}}"
        return ConvertTo-HyperVIcAsciiJson -Json $document
    } catch {
        $failure = $_
        if ($isRemote) { Remove-HyperVIcCimSession }
        $vmmsStatus = $null
        if (-not $isRemote) { $vmmsStatus = Get-HyperVIcVmmsStatus }
        return ConvertTo-HyperVIcErrorJson -Kind 'exception' -Stage $stage -Message ([string]$failure) -ErrorRecord $failure -VmmsStatus $vmmsStatus
    }
}
