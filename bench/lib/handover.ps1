# Benchmark only: collect.ps1 with Get-HyperVIcSample replaced by a function that hands over a prepared
# sample document, so that what is timed is the hand-over itself (bench/receive.js): the pool's invoke,
# the write of the document to the worker's file, the answer line, Node's readFile.
#
# The document is the file whose path is written in the file $env:HYPERV_IC_BENCH_DOCUMENT names (the
# bench rewrites it to switch documents), read into memory the first time it is asked for (a warm-up
# call, not timed) and kept. With -OutFile it is written as collect.ps1 writes it:
# UTF-8 without a byte-order mark through a StreamWriter with a 64 KiB buffer, then the answer
# {"outFile":...,"length":...}. Without -OutFile it is returned as the function's output, which is how the
# collection script handed the document over before (through stdout, which node-powershell gathers).

. (Join-Path $PSScriptRoot '../../dist/sources/powershell/collect.ps1')

$script:HyperVIcBenchPath = $null
$script:HyperVIcBenchText = $null

function Get-HyperVIcBenchDocument {
    $path = [System.IO.File]::ReadAllText($env:HYPERV_IC_BENCH_DOCUMENT).Trim()
    if ($script:HyperVIcBenchPath -ne $path) {
        $script:HyperVIcBenchText = [System.IO.File]::ReadAllText($path, $script:HyperVIcUtf8)
        $script:HyperVIcBenchPath = $path
    }
    return $script:HyperVIcBenchText
}

function Get-HyperVIcSample {
    [CmdletBinding()]
    param(
        [string] $ComputerName = '',
        [string] $Scope = 'Full',
        [string] $OutFile = '',
        [int] $OperationTimeoutSec = 0
    )
    $text = Get-HyperVIcBenchDocument
    if ([string]::IsNullOrEmpty($OutFile)) { return $text }
    $outPath = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($OutFile)
    $writer = [System.IO.StreamWriter]::new($outPath, $false, $script:HyperVIcUtf8, 65536)
    $writer.Write($text)
    $writer.Dispose()
    $ack = [ordered]@{ outFile = $outPath; length = $text.Length }
    return ConvertTo-HyperVIcAsciiJson -Json (ConvertTo-Json -InputObject $ack -Compress)
}
