using System;
using System.Collections.Generic;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Hosting;

namespace HypervIcExporter.ServiceHost;

/// <summary>How the host ends: what it reports to the SCM and the exit code of its process.</summary>
internal sealed class ExitState
{
    /// <summary>Win32 exit code reported with SERVICE_STOPPED; non-zero makes the SCM run the failure actions (with the failure-actions flag set).</summary>
    public int ServiceExitCode;
    public int ProcessExitCode;
    public volatile bool NodeEndedOnItsOwn;
}

/// <summary>Runs node with the exporter for as long as the host runs, and stops it gracefully.</summary>
internal sealed class NodeSupervisor : IHostedService, IDisposable
{
    /// <summary>ERROR_PROCESS_ABORTED, "The process terminated unexpectedly": what the SCM itself records for a crashed service.</summary>
    public const int ErrorProcessAborted = 1067;
    public static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(20);
    public const string StopOnStdinEofVariable = "HYPERV_IC_EXPORTER_STOP_ON_STDIN_EOF";

    private readonly HostSettings _settings;
    private readonly ServiceLog _log;
    private readonly ExitState _exit;
    private readonly IHostApplicationLifetime _lifetime;
    private ChildProcess? _node;
    private int _stopping;

    public NodeSupervisor(HostSettings settings, ServiceLog log, ExitState exit, IHostApplicationLifetime lifetime)
    {
        _settings = settings;
        _log = log;
        _exit = exit;
        _lifetime = lifetime;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            Start();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.ComponentModel.Win32Exception)
        {
            _log.Write($"could not start node: {e.Message}");
            _exit.NodeEndedOnItsOwn = true;
            _exit.ServiceExitCode = e is FileNotFoundException ? 2 : ErrorProcessAborted;
            _exit.ProcessExitCode = 1;
            _lifetime.StopApplication();
        }
        return Task.CompletedTask;
    }

    private void Start()
    {
        string directory = _settings.Directory;
        string node = Path.Combine(directory, "node.exe");
        string script = Path.Combine(directory, "hyperv-ic-exporter.js");
        if (!File.Exists(node)) throw new FileNotFoundException($"{node} is missing");
        if (!File.Exists(script)) throw new FileNotFoundException($"{script} is missing");
        IReadOnlyList<string> options = CommandLine.NodeOptionsFromShebang(CommandLine.ReadFirstLine(script));
        string commandLine = CommandLine.Build(node, options, script, _settings.Arguments);

        string stdout = LogFiles.PathOf("out"), stderr = LogFiles.PathOf("err");
        foreach (string path in new[] { stdout, stderr })
        {
            try
            {
                string? rolled = LogFiles.RollIfLarge(path);
                if (rolled != null) _log.Write(rolled);
            }
            catch (IOException e)
            {
                _log.Write($"could not roll {path} over, appending to it: {e.Message}");
            }
        }

        // node inherits the host's environment plus these two.
        Environment.SetEnvironmentVariable("NODE_ENV", "production");
        Environment.SetEnvironmentVariable(StopOnStdinEofVariable, "1");
        _log.Write($"starting node in {directory}: {commandLine}");
        _log.Write($"node's standard output: {stdout}; standard error: {stderr}");
        _node = ChildProcess.Start(node, commandLine, directory, stdout, stderr, hiddenConsole: _settings.RunningAsService);
        _log.Write($"node started, pid {_node.Id}");
        if (_node.JobProblem != null) _log.Write($"node runs outside a job object ({_node.JobProblem}): a host that dies leaves it running");
        _node.Exited.ContinueWith(exited => OnExited(exited.Result), TaskScheduler.Default);
    }

    private void OnExited(int code)
    {
        if (Volatile.Read(ref _stopping) != 0) return;
        _exit.NodeEndedOnItsOwn = true;
        if (_settings.RunningAsService)
        {
            _log.Write($"node exited on its own with code {code}: stopping the service with error {ErrorProcessAborted} so that its recovery actions restart it");
            _exit.ServiceExitCode = ErrorProcessAborted;
            _exit.ProcessExitCode = code != 0 ? code : 1;
        }
        else
        {
            _log.Write($"node exited on its own with code {code}");
            _exit.ProcessExitCode = code;
        }
        _lifetime.StopApplication();
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _stopping, 1) != 0 || _node == null || _node.Exited.IsCompleted) return;
        _log.Write($"stop requested: closing node's standard input (pid {_node.Id}), waiting up to {StopTimeout.TotalSeconds:0} s");
        _node.CloseStandardInput();
        Task finished = await Task.WhenAny(_node.Exited, Task.Delay(StopTimeout, CancellationToken.None)).ConfigureAwait(false);
        if (finished != _node.Exited)
        {
            _log.Write($"node did not exit within {StopTimeout.TotalSeconds:0} s of the stop request: killing it (pid {_node.Id}) and the processes it started");
            _node.Kill();
            await Task.WhenAny(_node.Exited, Task.Delay(TimeSpan.FromSeconds(5), CancellationToken.None)).ConfigureAwait(false);
        }
        _log.Write(_node.Exited.IsCompleted ? $"node exited with code {_node.Exited.Result}" : "node has still not exited after the kill");
        // A stop that was asked for is a clean stop, whatever node's exit code.
        _exit.ServiceExitCode = 0;
        _exit.ProcessExitCode = 0;
    }

    public void Dispose() => _node?.Dispose();
}
