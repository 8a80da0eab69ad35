using System;
using System.Diagnostics;
using System.Threading;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.WindowsServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

[assembly: System.Runtime.Versioning.SupportedOSPlatform("windows")]

namespace HypervIcExporter.ServiceHost;

/// <summary>Where the host runs and what it passes on: fixed at start.</summary>
internal sealed record HostSettings(string Directory, string[] Arguments, bool RunningAsService);

internal static class Program
{
    public const string ServiceName = "hyperv-ic-exporter";

    private static int Main(string[] args)
    {
        string directory = AppContext.BaseDirectory.TrimEnd('\\', '/');
        bool asService = ServiceDetection.RunningUnderServiceControlManager(out string how);
        var exit = new ExitState();

        ServiceLog log;
        try
        {
            System.IO.Directory.CreateDirectory(LogFiles.Directory);
            string servicePath = LogFiles.PathOf("service");
            string? rolled = LogFiles.RollIfLarge(servicePath);
            log = new ServiceLog(servicePath, echoToConsole: !asService);
            if (rolled != null) log.Write(rolled);
        }
        catch (Exception e) when (e is System.IO.IOException or UnauthorizedAccessException)
        {
            // Without a log folder node's output has nowhere to go either; say why where someone may see it.
            log = new ServiceLog(null, echoToConsole: true);
            log.Write($"cannot write to {LogFiles.Directory}: {e.Message}");
            if (!asService) return 1;
            exit.ServiceExitCode = 82; // ERROR_CANNOT_MAKE
            exit.ProcessExitCode = 1;
        }

        using (log)
        {
            log.Write($"hyperv-ic-exporter-service {typeof(Program).Assembly.GetName().Version} starting {(asService ? "as a service" : "in the foreground")} ({how})");
            var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
            {
                // No appsettings, environment or command-line configuration and no logging providers:
                // every argument is the exporter's.
                DisableDefaults = true,
                Args = [],
                ContentRootPath = directory,
            });
            builder.Services.Configure<HostOptions>(options => options.ShutdownTimeout = NodeSupervisor.StopTimeout + TimeSpan.FromSeconds(10));
            builder.Services.AddSingleton(new HostSettings(directory, args, asService));
            builder.Services.AddSingleton(log);
            builder.Services.AddSingleton(exit);
            if (exit.ServiceExitCode == 0)
            {
                builder.Services.AddHostedService<NodeSupervisor>();
            }
            if (asService)
            {
                builder.Services.Configure<WindowsServiceLifetimeOptions>(options => options.ServiceName = ServiceName);
                builder.Services.AddSingleton<IHostLifetime, ExporterServiceLifetime>();
            }
            // Otherwise the default console lifetime: Ctrl+C, Ctrl+Break or closing the console stops the host.
            using IHost host = builder.Build();
            if (exit.ServiceExitCode != 0)
            {
                // Report RUNNING and then STOPPED with the error, rather than leaving the SCM to time out.
                host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStarted.Register(
                    () => host.Services.GetRequiredService<IHostApplicationLifetime>().StopApplication());
            }
            host.Run();
            log.Write($"host stopped; exit code {exit.ProcessExitCode}{(asService ? $", service exit code {exit.ServiceExitCode}" : "")}");
            return exit.ProcessExitCode;
        }
    }
}

/// <summary>The Hosting package's service lifetime, which also asks the SCM for the time a graceful stop takes and reports the exit code.</summary>
internal sealed class ExporterServiceLifetime : WindowsServiceLifetime
{
    private readonly ExitState _exit;
    private readonly ServiceLog _log;

    public ExporterServiceLifetime(IHostEnvironment environment, IHostApplicationLifetime applicationLifetime, ILoggerFactory loggerFactory,
        IOptions<HostOptions> optionsAccessor, IOptions<WindowsServiceLifetimeOptions> windowsServiceOptionsAccessor, ExitState exit, ServiceLog log)
        : base(environment, applicationLifetime, loggerFactory, optionsAccessor, windowsServiceOptionsAccessor)
    {
        _exit = exit;
        _log = log;
        // The Application event log is not where this host reports; its own log file is.
        AutoLog = false;
    }

    protected override void OnStart(string[] args)
    {
        _log.Write("service control manager: start; reporting RUNNING");
        base.OnStart(args);
    }

    protected override void OnStop()
    {
        if (!_exit.NodeEndedOnItsOwn) _log.Write("service control manager: stop");
        Stopping();
        base.OnStop();
        ExitCode = _exit.ServiceExitCode;
    }

    protected override void OnShutdown()
    {
        _log.Write("service control manager: system shutdown");
        Stopping();
        base.OnShutdown();
        ExitCode = _exit.ServiceExitCode;
    }

    private void Stopping()
    {
        try
        {
            // STOP_PENDING with a wait hint that covers node's graceful stop and the kill after it.
            RequestAdditionalTime((int)(NodeSupervisor.StopTimeout + TimeSpan.FromSeconds(10)).TotalMilliseconds);
        }
        catch (InvalidOperationException)
        {
        }
    }
}

/// <summary>Whether the SCM started this process.</summary>
internal static class ServiceDetection
{
    /// <summary>
    /// The Hosting package's test (parent is services.exe in session 0), or a parent named services.exe
    /// in any session: Wine's services.exe does not run in session 0.
    /// </summary>
    public static unsafe bool RunningUnderServiceControlManager(out string how)
    {
        if (WindowsServiceHelpers.IsWindowsService())
        {
            how = "parent is services.exe in session 0";
            return true;
        }
        try
        {
            var info = new Native.PROCESS_BASIC_INFORMATION();
            using Process self = Process.GetCurrentProcess();
            if (Native.NtQueryInformationProcess(self.Handle, 0, &info, sizeof(Native.PROCESS_BASIC_INFORMATION), out _) != 0)
            {
                how = "parent process unknown";
                return false;
            }
            using Process parent = Process.GetProcessById((int)info.InheritedFromUniqueProcessId);
            bool services = string.Equals(parent.ProcessName, "services", StringComparison.OrdinalIgnoreCase);
            how = $"parent is {parent.ProcessName}.exe (pid {parent.Id}) in session {parent.SessionId}";
            return services;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            how = $"parent process unknown: {e.Message}";
            return false;
        }
    }
}
