#Requires -Version 5.1
#Requires -RunAsAdministrator
<#
.SYNOPSIS
    Removes the hyperv-ic-exporter Windows service installed by install-service.ps1.

.DESCRIPTION
    Stops the service (WinSW sends the exporter Ctrl+C and waits for it), takes its virtual account
    out of Hyper-V Administrators while the account name still resolves, deletes the service, removes
    the firewall rules in the group named after the service, and deletes the wrapper folder. Logs are
    kept with -KeepLogs. A gMSA or user account stays in Hyper-V Administrators unless
    -RemoveFromHyperVAdministrators is given, because it may serve other purposes.
    The exporter package itself (node_modules) is left in place: remove it with npm.

.EXAMPLE
    .\uninstall-service.ps1 -KeepLogs
#>
[CmdletBinding(SupportsShouldProcess = $true)]
param(
    [ValidatePattern('^[A-Za-z0-9_.-]+$')]
    [string] $ServiceName = 'hyperv-ic-exporter',

    [string] $DataDirectory = (Join-Path $env:ProgramData 'hyperv-ic-exporter'),

    [switch] $KeepLogs,

    [switch] $RemoveFromHyperVAdministrators
)

Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'

$HyperVAdministratorsSid = 'S-1-5-32-578'

if ($env:OS -ne 'Windows_NT') { throw 'uninstall-service.ps1 removes a Windows service and runs on Windows only.' }

$serviceDirectory = Join-Path $DataDirectory 'service'
$logDirectory = Join-Path $DataDirectory 'logs'
$wrapperPath = Join-Path $serviceDirectory "$ServiceName.exe"

$serviceRecord = Get-CimInstance -ClassName Win32_Service -Filter "Name='$ServiceName'"
if (-not $serviceRecord) {
    Write-Warning "No service named '$ServiceName' is installed; removing what is left of it."
}
else {
    if ($serviceRecord.State -ne 'Stopped' -and $PSCmdlet.ShouldProcess($ServiceName, 'Stop the service')) {
        Stop-Service -Name $ServiceName -Force
        (Get-Service -Name $ServiceName).WaitForStatus('Stopped', (New-TimeSpan -Seconds 60))
    }

    $accountName = [string] $serviceRecord.StartName
    $isVirtualAccount = $accountName -like 'NT SERVICE\*'
    if (($isVirtualAccount -or $RemoveFromHyperVAdministrators) -and $accountName -and
        $PSCmdlet.ShouldProcess($accountName, 'Remove from Hyper-V Administrators')) {
        # After the service is deleted NT SERVICE\<name> no longer resolves and would linger in the
        # group as an orphaned SID (which also breaks Get-LocalGroupMember), so remove it first.
        try {
            $accountSid = (New-Object System.Security.Principal.NTAccount($accountName)).Translate([System.Security.Principal.SecurityIdentifier])
            Remove-LocalGroupMember -SID $HyperVAdministratorsSid -Member $accountSid.Value -ErrorAction Stop
            Write-Host "Removed $accountName from Hyper-V Administrators."
        }
        catch {
            Write-Warning "Could not remove $accountName from Hyper-V Administrators: $($_.Exception.Message)"
        }
    }

    if ($PSCmdlet.ShouldProcess($ServiceName, 'Delete the service')) {
        if (Test-Path -LiteralPath $wrapperPath -PathType Leaf) {
            & $wrapperPath uninstall
        }
        else {
            & "$env:SystemRoot\System32\sc.exe" delete $ServiceName | Out-Null
        }
        if ($LASTEXITCODE -ne 0) { throw "Deleting the service '$ServiceName' failed with exit code $LASTEXITCODE." }
    }
}

if ($PSCmdlet.ShouldProcess("firewall group '$ServiceName'", 'Remove the inbound rules')) {
    Get-NetFirewallRule -Group $ServiceName -ErrorAction SilentlyContinue | Remove-NetFirewallRule
}

if ((Test-Path -LiteralPath $serviceDirectory) -and $PSCmdlet.ShouldProcess($serviceDirectory, 'Delete the wrapper folder')) {
    Remove-Item -LiteralPath $serviceDirectory -Recurse -Force
}

if (-not $KeepLogs -and (Test-Path -LiteralPath $DataDirectory) -and $PSCmdlet.ShouldProcess($DataDirectory, 'Delete the logs and the data folder')) {
    Remove-Item -LiteralPath $DataDirectory -Recurse -Force
}
elseif ($KeepLogs) {
    Write-Host "Logs kept in $logDirectory."
}

Write-Host "Removed the service '$ServiceName'."
