# hyperv-ic-exporter collection script (shipped with the package, dot-sourced once per PowerShell process).
#
# The exporter keeps one PowerShell process open. When it starts the process it dot-sources this file and
# then hands it the classes to query, as data (this file names no class of root/virtualization/v2):
#   Set-HyperVIcQueries -Json '{"namespace":"root/virtualization/v2","full":[{"class":"...","properties":["..."],"host":"Name"},...],"status":[...]}'
# (src/document/classes.ts declares the classes; COLLECT_QUERIES there is that table.) Per sample it sends one line:
#   Get-HyperVIcSample [-Scope Full|Status] [-ComputerName 'hv02'] [-OperationTimeoutSec 20] [-OutFile 'C:\...\s.json']
# -Scope Full (the default) queries the table's "full" list, -Scope Status its "status" list (what changes
# from one sample to the next), each class with exactly its properties, in that order. -ComputerName
# samples a remote host through a CIM session over WinRM (sessions are cached per computer name);
# -OperationTimeoutSec, when above 0, is passed to every Get-CimInstance.
#
# The sample document, one class per line:
#   {"schemaVersion":1,"scope":"full","computerName":"HV01","collectedAt":"2025-01-15T10:00:00.000Z","classes":{
#   "<first class>":[{...},{...}],
#   "<second class>":[],
#   ...
#   }}
# Without -OutFile it is written to stdout, ASCII only (non-ASCII text as \uXXXX escapes). With -OutFile
# it is written to that file as UTF-8 without a byte-order mark (not escaped), and stdout gets one line:
#   {"outFile":"C:\\...\\s.json","length":12345}
# (length: the document's length in UTF-16 code units, i.e. .NET and JavaScript string length).
# On failure stdout gets, in both modes, one line {"error":{"kind":...,"stage":...,"message":...,...}}
# whose facts the exporter turns into a failure reason, and no file exists at -OutFile afterwards.
#
#   Get-HyperVIcClusterNode [-ComputerName 'hv02'] [-OperationTimeoutSec 20]
# writes one line {"nodes":[{"Name":"HV01","State":0},...]} (State: CLUSTER_NODE_STATE, -1 unknown,
# 0 up, 1 down, 2 paused, 3 joining) or the same {"error":{...}} line.
#   Remove-HyperVIcCimSession [-ComputerName 'hv02']
# drops the cached CIM session to that computer, or every cached session without -ComputerName.
#
# Values are passed through as ConvertTo-Json writes them; nothing is interpreted here. DateTime values
# (LastSuccessfulBackupTime) come out as "\/Date(ms)\/" in Windows PowerShell 5.1 and as ISO 8601 with
# the local offset in PowerShell 7.
#
# Rules this file keeps, because it must behave the same in Windows PowerShell 5.1 and PowerShell 7:
# - No PowerShell-7-only syntax or parameters (??, ?., ternary, && / || chains, -AsArray,
#   -EnumsAsStrings, -EscapeHandling); a test walks this file's AST to enforce it.
# - ASCII only: Windows PowerShell 5.1 reads a BOM-less script in the ANSI code page.
# - One Get-CimInstance per class of the table, never one per VM, so the cost of a sample does not grow in
#   round trips with the VM count (Full: 13 queries, Status: 7). The only Get-CimInstance call is in
#   Get-HyperVIcCimInstances.
# - A thin projection: the classes and properties come from Set-HyperVIcQueries; the only class named here
#   is the failover cluster's MSCluster_Node (Get-HyperVIcClusterNode), which is not part of a sample.
# - One ConvertTo-Json call per class, never one per instance (a call costs far more than the instance).
#   Windows PowerShell 5.1's ConvertTo-Json sets JavaScriptSerializer.MaxJsonLength to Int32.MaxValue,
#   so the serializer's 2,097,152-character default does not bound a class (PowerShell source, commit
#   60b3b304f2, ConvertToJsonCommand.cs); nor does anything in PowerShell 7.
# - Every class is a JSON array in both editions, empty and one-element ones included: ConvertTo-Json
#   gets -InputObject with an array, never pipeline input (which unwraps one element).
# - Each projected instance is an [ordered] dictionary whose values are the CIM values themselves, read
#   by property name; never Select-Object or PSObject-wrapped values (5.1 writes a wrapped array as
#   {"value":[...],"Count":n}).
# - Nothing but the answer on stdout and nothing at all on stderr: any stderr text fails the
#   node-powershell invocation, and warnings land on stdout when PowerShell is hosted through stdin.
# - What goes to stdout is ASCII (non-ASCII text escaped), so the console code page cannot garble it.

# The queries of each scope, set by Set-HyperVIcQueries: @{ Namespace; full; status }, each list of
# @{ Class; Properties; Host }. $null until then (a sample then fails with invalid_argument).
$script:HyperVIcQueries = $null

# The one class this file names: the failover cluster's nodes (Get-HyperVIcClusterNode), no part of a
# sample document, asked by cluster discovery only, with a fixed two-property answer of its own.
$script:HyperVIcClusterNamespace = 'root/MSCluster'
$script:HyperVIcClusterClass = 'MSCluster_Node'

# CIM sessions to remote hosts by lower-cased computer name, least recently used first, kept across
# samples so that a sample does not pay a WinRM handshake; a session is dropped after any failure on it
# so that the next sample to that host reconnects.
$script:HyperVIcCimSessions = [ordered]@{}
$script:HyperVIcMaxCimSessions = 64

$script:HyperVIcUtf8 = New-Object System.Text.UTF8Encoding $false

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

function Set-HyperVIcQueries {
    # The classes to query per scope, as JSON (see the top of this file). Writes nothing; a table that is
    # not JSON fails here, at start-up, not at the first sample.
    param([Parameter(Mandatory = $true)] [string] $Json)
    $table = ConvertFrom-Json -InputObject $Json -ErrorAction Stop
    $queries = @{ Namespace = [string]$table.namespace }
    foreach ($scope in @('full', 'status')) {
        $list = [System.Collections.Generic.List[object]]::new()
        foreach ($query in @($table.$scope)) {
            # Host: the class whose instances include the host; the instance whose Host property is not a GUID names it.
            $list.Add(@{ Class = [string]$query.class; Properties = [string[]]@($query.properties); Host = [string]$query.host })
        }
        $queries[$scope] = $list.ToArray()
    }
    $script:HyperVIcQueries = $queries
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
    $key = $ComputerName.ToLowerInvariant()
    $session = $script:HyperVIcCimSessions[$key]
    if ($null -ne $session) {
        # Most recently used last, so that the first entry is the one to drop when the cache is full.
        $script:HyperVIcCimSessions.Remove($key)
        $script:HyperVIcCimSessions[$key] = $session
        return $session
    }
    $session = New-CimSession -ComputerName $ComputerName -ErrorAction Stop -WarningAction SilentlyContinue 3>$null 4>$null 5>$null 6>$null
    if ($null -eq $session) { throw "New-CimSession returned no session for $ComputerName" }
    while ($script:HyperVIcCimSessions.Count -ge $script:HyperVIcMaxCimSessions) {
        $oldest = @($script:HyperVIcCimSessions.Keys)[0]
        Remove-HyperVIcCimSession -ComputerName $oldest
    }
    $script:HyperVIcCimSessions[$key] = $session
    return $session
}

function Remove-HyperVIcCimSession {
    # Without -ComputerName: every cached session.
    param([string] $ComputerName = '')
    if ([string]::IsNullOrEmpty($ComputerName)) {
        $keys = @($script:HyperVIcCimSessions.Keys)
    } else {
        $keys = @($ComputerName.ToLowerInvariant())
    }
    foreach ($key in $keys) {
        $session = $script:HyperVIcCimSessions[$key]
        if ($null -eq $session) { continue }
        $script:HyperVIcCimSessions.Remove($key)
        try {
            Remove-CimSession -CimSession $session -ErrorAction Stop -WarningAction SilentlyContinue 3>$null 4>$null 5>$null 6>$null
        } catch {
            # A session that cannot be removed is already broken; forgetting it is all that matters.
            $null = $_
        }
    }
}

function Get-HyperVIcCimInstances {
    # The one CIM query of this file. Writes the instances as one array object: assign the result,
    # do not wrap the call in @(), which would make an array holding that array.
    param([string] $Namespace, [string] $ClassName, [string[]] $Property, $CimSession, [int] $OperationTimeoutSec)
    $parameters = @{
        Namespace     = $Namespace
        ClassName     = $ClassName
        Property      = $Property
        ErrorAction   = 'Stop'
        WarningAction = 'SilentlyContinue'
    }
    if ($null -ne $CimSession) { $parameters.CimSession = $CimSession }
    if ($OperationTimeoutSec -gt 0) { $parameters.OperationTimeoutSec = $OperationTimeoutSec }
    , @(Get-CimInstance @parameters 3>$null 4>$null 5>$null 6>$null)
}

function ConvertTo-HyperVIcClassJson {
    # One class as a JSON array: each instance projected to an [ordered] dictionary of exactly these
    # properties, read by name ($null where an instance lacks one), then one ConvertTo-Json call.
    param([object[]] $Instances, [string[]] $Property)
    $rows = [System.Collections.Generic.List[object]]::new()
    foreach ($instance in $Instances) {
        $row = [ordered]@{}
        foreach ($name in $Property) { $row[$name] = $instance.$name }
        $rows.Add($row)
    }
    ConvertTo-Json -InputObject $rows.ToArray() -Depth 5 -Compress
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

function Remove-HyperVIcFile {
    param([string] $Path)
    if ([string]::IsNullOrEmpty($Path)) { return }
    try {
        if ([System.IO.File]::Exists($Path)) { [System.IO.File]::Delete($Path) }
    } catch {
        # Nothing more can be done; the error object tells the caller not to read the file.
        $null = $_
    }
}

function Get-HyperVIcSample {
    [CmdletBinding()]
    param(
        # Empty: the local host. Otherwise a DNS name or IP address, validated by the exporter.
        [string] $ComputerName = '',
        # Full or Status (checked below, so that a bad value is an error object, not stderr text).
        [string] $Scope = 'Full',
        # Empty: the document goes to stdout. Otherwise the file the document is written to.
        [string] $OutFile = '',
        # Above 0: passed to every Get-CimInstance.
        [int] $OperationTimeoutSec = 0
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
    $outPath = ''
    $writer = $null
    $stage = 'start'
    try {
        if (-not [string]::IsNullOrEmpty($OutFile)) {
            # Relative to PowerShell's location, not the process's working directory. No file of an
            # earlier sample may survive a failed one.
            $outPath = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($OutFile)
            Remove-HyperVIcFile -Path $outPath
        }
        if ($Scope -eq 'Full') {
            $scopeName = 'full'
        } elseif ($Scope -eq 'Status') {
            $scopeName = 'status'
        } else {
            return ConvertTo-HyperVIcErrorJson -Kind 'invalid_argument' -Stage $stage -Message ("-Scope must be Full or Status, not '" + $Scope + "'")
        }
        if ($null -eq $script:HyperVIcQueries) {
            return ConvertTo-HyperVIcErrorJson -Kind 'invalid_argument' -Stage $stage -Message 'no classes to query: Set-HyperVIcQueries was not called'
        }
        if ($OperationTimeoutSec -lt 0) {
            return ConvertTo-HyperVIcErrorJson -Kind 'invalid_argument' -Stage $stage -Message '-OperationTimeoutSec must not be negative'
        }

        $session = $null
        if ($isRemote) {
            $stage = 'New-CimSession'
            $session = Get-HyperVIcCimSession -ComputerName $ComputerName
        }

        $classJson = [System.Collections.Generic.List[string]]::new()
        $hostName = $null
        foreach ($query in $script:HyperVIcQueries[$scopeName]) {
            $stage = $query.Class
            $instances = Get-HyperVIcCimInstances -Namespace $script:HyperVIcQueries.Namespace -ClassName $query.Class -Property $query.Properties `
                -CimSession $session -OperationTimeoutSec $OperationTimeoutSec

            if (-not [string]::IsNullOrEmpty($query.Host)) {
                # The host itself is always an instance of this class (the computer systems). None at all
                # means the account may not see the namespace's contents: a non-admin gets an empty result,
                # not an error.
                if ($instances.Count -eq 0) {
                    $vmmsStatus = $null
                    if (-not $isRemote) { $vmmsStatus = Get-HyperVIcVmmsStatus }
                    return ConvertTo-HyperVIcErrorJson -Kind 'no_computer_system' -Stage $stage -VmmsStatus $vmmsStatus `
                        -Message ($query.Class + ' returned no instances, not even the host')
                }
                foreach ($instance in $instances) {
                    # A VM's Name is its GUID; the host's Name is the computer name.
                    $name = [string]$instance.($query.Host)
                    if (-not (Test-HyperVIcGuid -Text $name)) { $hostName = $name }
                }
            }

            $classJson.Add((ConvertTo-Json -InputObject $query.Class -Compress) + ':' + (ConvertTo-HyperVIcClassJson -Instances $instances -Property $query.Properties))
        }

        $stage = 'write'
        if ([string]::IsNullOrEmpty($hostName)) {
            if ($isRemote) { $hostName = $ComputerName } else { $hostName = [Environment]::MachineName }
        }
        $collectedAt = [DateTime]::UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", [Globalization.CultureInfo]::InvariantCulture)
        $head = '{"schemaVersion":1,"scope":"' + $scopeName + '","computerName":' + (ConvertTo-Json -InputObject $hostName -Compress) +
            ',"collectedAt":"' + $collectedAt + '","classes":{' + "`n"
        $tail = "`n}}"
        if ([string]::IsNullOrEmpty($outPath)) {
            return ConvertTo-HyperVIcAsciiJson -Json ($head + ($classJson -join ",`n") + $tail)
        }
        # The file is UTF-8, so it needs no escaping pass; it is written class by class, without first
        # joining the document into one string.
        $writer = [System.IO.StreamWriter]::new($outPath, $false, $script:HyperVIcUtf8, 65536)
        $writer.Write($head)
        $length = $head.Length + $tail.Length
        for ($index = 0; $index -lt $classJson.Count; $index++) {
            if ($index -gt 0) {
                $writer.Write(",`n")
                $length += 2
            }
            $writer.Write($classJson[$index])
            $length += $classJson[$index].Length
        }
        $writer.Write($tail)
        $writer.Dispose()
        $writer = $null
        $ack = [ordered]@{ outFile = $outPath; length = $length }
        return ConvertTo-HyperVIcAsciiJson -Json (ConvertTo-Json -InputObject $ack -Compress)
    } catch {
        $failure = $_
        if ($null -ne $writer) {
            try { $writer.Dispose() } catch { $null = $_ }
        }
        Remove-HyperVIcFile -Path $outPath
        if ($isRemote) { Remove-HyperVIcCimSession -ComputerName $ComputerName }
        $vmmsStatus = $null
        if (-not $isRemote) { $vmmsStatus = Get-HyperVIcVmmsStatus }
        return ConvertTo-HyperVIcErrorJson -Kind 'exception' -Stage $stage -Message ([string]$failure) -ErrorRecord $failure -VmmsStatus $vmmsStatus
    }
}

function Get-HyperVIcClusterNode {
    # The failover cluster's nodes as this host (or -ComputerName) sees them: one query of
    # root/MSCluster MSCluster_Node. State is written as the class delivers it (uint32; clusterNodes.ts
    # reads its documented unknown value -1, which arrives as 4294967295).
    [CmdletBinding()]
    param(
        [string] $ComputerName = '',
        [int] $OperationTimeoutSec = 0
    )
    $ErrorActionPreference = 'Stop'
    $WarningPreference = 'SilentlyContinue'
    $ProgressPreference = 'SilentlyContinue'
    $VerbosePreference = 'SilentlyContinue'
    $DebugPreference = 'SilentlyContinue'
    $InformationPreference = 'SilentlyContinue'

    $isRemote = -not [string]::IsNullOrEmpty($ComputerName)
    $stage = 'start'
    try {
        $session = $null
        if ($isRemote) {
            $stage = 'New-CimSession'
            $session = Get-HyperVIcCimSession -ComputerName $ComputerName
        }
        $stage = $script:HyperVIcClusterClass
        $instances = Get-HyperVIcCimInstances -Namespace $script:HyperVIcClusterNamespace -ClassName $script:HyperVIcClusterClass -Property @('Name', 'State') `
            -CimSession $session -OperationTimeoutSec $OperationTimeoutSec
        $nodes = [System.Collections.Generic.List[object]]::new()
        foreach ($instance in $instances) {
            $nodes.Add([ordered]@{ Name = [string]$instance.Name; State = $instance.State })
        }
        $answer = [ordered]@{ nodes = $nodes.ToArray() }
        return ConvertTo-HyperVIcAsciiJson -Json (ConvertTo-Json -InputObject $answer -Depth 3 -Compress)
    } catch {
        $failure = $_
        if ($isRemote) { Remove-HyperVIcCimSession -ComputerName $ComputerName }
        return ConvertTo-HyperVIcErrorJson -Kind 'exception' -Stage $stage -Message ([string]$failure) -ErrorRecord $failure
    }
}
