using System;
using System.ComponentModel;
using System.Threading.Tasks;
using Microsoft.Win32.SafeHandles;

namespace HypervIcExporter.ServiceHost;

/// <summary>
/// node.exe, started with CreateProcess: its standard input is a pipe whose write end only the host
/// holds (closing it is the stop request), its standard output and error are append-only handles of
/// the log files (pipes would need a reader, and Wine fails node's writes into pipes). It runs in a job
/// object that kills it, and whatever it started, should the host itself die.
/// </summary>
internal sealed class ChildProcess : IDisposable
{
    private readonly SafeProcessHandle _process;
    private readonly SafeFileHandle? _job;
    private SafeFileHandle? _stdinWriter;

    public int Id { get; }
    /// <summary>Completes with the exit code when the process has exited.</summary>
    public Task<int> Exited { get; }
    /// <summary>Why the job object could not be used (null when it is).</summary>
    public string? JobProblem { get; }

    private ChildProcess(SafeProcessHandle process, int id, SafeFileHandle stdinWriter, SafeFileHandle? job, string? jobProblem)
    {
        _process = process;
        Id = id;
        _stdinWriter = stdinWriter;
        _job = job;
        JobProblem = jobProblem;
        Exited = Task.Factory.StartNew(WaitForExit, TaskCreationOptions.LongRunning);
    }

    private int WaitForExit()
    {
        Native.WaitForSingleObject(_process, Native.INFINITE);
        return Native.GetExitCodeProcess(_process, out uint code) ? unchecked((int)code) : -1;
    }

    public static unsafe ChildProcess Start(string application, string commandLine, string directory, string stdoutPath, string stderrPath, bool hiddenConsole)
    {
        using SafeFileHandle stdout = LogFiles.OpenAppend(stdoutPath, inheritable: true);
        using SafeFileHandle stderr = LogFiles.OpenAppend(stderrPath, inheritable: true);
        var inherit = new Native.SECURITY_ATTRIBUTES { nLength = sizeof(Native.SECURITY_ATTRIBUTES), bInheritHandle = 1 };
        if (!Native.CreatePipe(out SafeFileHandle stdinReader, out SafeFileHandle stdinWriter, &inherit, 0))
            throw new Win32Exception($"CreatePipe failed: {Native.LastError()}");
        using (stdinReader)
        {
            // Only the child's end is inherited; the host keeps the write end to itself.
            if (!Native.SetHandleInformation(stdinWriter, Native.HANDLE_FLAG_INHERIT, 0))
                throw new Win32Exception($"SetHandleInformation failed: {Native.LastError()}");

            var startup = new Native.STARTUPINFOW
            {
                cb = sizeof(Native.STARTUPINFOW),
                dwFlags = Native.STARTF_USESTDHANDLES,
                hStdInput = stdinReader.DangerousGetHandle(),
                hStdOutput = stdout.DangerousGetHandle(),
                hStdError = stderr.DangerousGetHandle(),
            };
            // A process group of its own: a Ctrl+C in the host's console reaches the host, which then stops
            // node through its standard input, rather than node directly. Without a console of its own
            // (a service has none), node gets a hidden one, shared by the PowerShell processes it starts.
            uint flags = Native.CREATE_SUSPENDED | Native.CREATE_NEW_PROCESS_GROUP | (hiddenConsole ? Native.CREATE_NO_WINDOW : 0);
            char[] line = (commandLine + "\0").ToCharArray();
            Native.PROCESS_INFORMATION info;
            fixed (char* linePointer = line)
            {
                if (!Native.CreateProcess(application, linePointer, IntPtr.Zero, IntPtr.Zero, true, flags, IntPtr.Zero, directory, &startup, out info))
                {
                    string error = Native.LastError();
                    stdinWriter.Dispose();
                    throw new Win32Exception($"CreateProcess of {application} failed: {error}");
                }
            }
            var process = new SafeProcessHandle(info.hProcess, ownsHandle: true);
            SafeFileHandle? job = null;
            string? jobProblem = null;
            try
            {
                job = CreateKillOnCloseJob(process);
            }
            catch (Win32Exception e)
            {
                jobProblem = e.Message;
            }
            Native.ResumeThread(info.hThread);
            Native.CloseHandle(info.hThread);
            return new ChildProcess(process, info.dwProcessId, stdinWriter, job, jobProblem);
        }
    }

    private static unsafe SafeFileHandle CreateKillOnCloseJob(SafeProcessHandle process)
    {
        SafeFileHandle job = Native.CreateJobObject(IntPtr.Zero, IntPtr.Zero);
        if (job.IsInvalid) throw new Win32Exception($"CreateJobObject failed: {Native.LastError()}");
        var limits = new Native.JOBOBJECT_EXTENDED_LIMIT_INFORMATION();
        limits.BasicLimitInformation.LimitFlags = Native.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
        if (!Native.SetInformationJobObject(job, Native.JobObjectExtendedLimitInformation, &limits, sizeof(Native.JOBOBJECT_EXTENDED_LIMIT_INFORMATION)))
        {
            string error = Native.LastError();
            job.Dispose();
            throw new Win32Exception($"SetInformationJobObject failed: {error}");
        }
        if (!Native.AssignProcessToJobObject(job, process))
        {
            string error = Native.LastError();
            job.Dispose();
            throw new Win32Exception($"AssignProcessToJobObject failed: {error}");
        }
        return job;
    }

    /// <summary>Closes the write end of node's standard input: node reads end-of-file.</summary>
    public void CloseStandardInput()
    {
        _stdinWriter?.Dispose();
        _stdinWriter = null;
    }

    /// <summary>Ends node and every process it started (the job), or node alone without a job.</summary>
    public void Kill()
    {
        if (_job != null && Native.TerminateJobObject(_job, 1)) return;
        Native.TerminateProcess(_process, 1);
    }

    public void Dispose()
    {
        CloseStandardInput();
        // Closing the job kills what is still in it: nothing outlives the host.
        _job?.Dispose();
        _process.Dispose();
    }
}
