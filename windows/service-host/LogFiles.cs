using System;
using System.IO;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace HypervIcExporter.ServiceHost;

/// <summary>The log folder, its files, and the rolling of a file at start.</summary>
internal static class LogFiles
{
    public const string BaseName = "hyperv-ic-exporter";
    public const long RollAtBytes = 10L * 1024 * 1024;
    public const int KeepRolled = 5;

    /// <summary><c>%ProgramData%\hyperv-ic-exporter\logs</c>.</summary>
    public static string Directory =>
        Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.CommonApplicationData), BaseName, "logs");

    public static string PathOf(string kind) => Path.Combine(Directory, $"{BaseName}.{kind}.log");

    /// <summary>
    /// A handle that only appends (FILE_APPEND_DATA without FILE_WRITE_DATA: every write goes to the
    /// end of the file, whoever else writes it), shared for reading, writing and deletion.
    /// </summary>
    public static unsafe SafeFileHandle OpenAppend(string path, bool inheritable)
    {
        var attributes = new Native.SECURITY_ATTRIBUTES { nLength = sizeof(Native.SECURITY_ATTRIBUTES), bInheritHandle = inheritable ? 1 : 0 };
        SafeFileHandle handle = Native.CreateFile(path, Native.FILE_APPEND_DATA | Native.FILE_READ_ATTRIBUTES | Native.SYNCHRONIZE,
            Native.FILE_SHARE_READ | Native.FILE_SHARE_WRITE | Native.FILE_SHARE_DELETE, &attributes, Native.OPEN_ALWAYS, Native.FILE_ATTRIBUTE_NORMAL, IntPtr.Zero);
        if (handle.IsInvalid) throw new IOException($"cannot open {path} for appending: {Native.LastError()}");
        return handle;
    }

    /// <summary>
    /// When the file is larger than 10 MB: name.log becomes name.1.log, name.1.log becomes name.2.log, …,
    /// and the oldest beyond 5 is deleted. Returns what it did, or null when nothing was needed.
    /// </summary>
    public static string? RollIfLarge(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists || info.Length <= RollAtBytes) return null;
        string stem = path.Substring(0, path.Length - ".log".Length);
        string Rolled(int n) => $"{stem}.{n}.log";
        File.Delete(Rolled(KeepRolled));
        for (int n = KeepRolled - 1; n >= 1; n--)
        {
            if (File.Exists(Rolled(n))) File.Move(Rolled(n), Rolled(n + 1));
        }
        File.Move(path, Rolled(1));
        return $"rolled {Path.GetFileName(path)} ({info.Length} bytes) over to {Path.GetFileName(Rolled(1))}";
    }
}

/// <summary>The host's own log: <c>hyperv-ic-exporter.service.log</c>, one timestamped line per event.</summary>
internal sealed class ServiceLog : IDisposable
{
    private readonly object _lock = new();
    private readonly SafeFileHandle? _file;
    private readonly bool _echo;

    public ServiceLog(string? path, bool echoToConsole)
    {
        _echo = echoToConsole;
        if (path != null) _file = LogFiles.OpenAppend(path, inheritable: false);
    }

    public unsafe void Write(string message)
    {
        string line = $"{DateTime.UtcNow:yyyy-MM-ddTHH:mm:ss.fffZ} pid {Environment.ProcessId}: {message}\r\n";
        lock (_lock)
        {
            if (_echo)
            {
                try { Console.Out.Write(line); Console.Out.Flush(); } catch (IOException) { }
            }
            if (_file == null || _file.IsClosed) return;
            byte[] bytes = Encoding.UTF8.GetBytes(line);
            fixed (byte* pointer = bytes) Native.WriteFile(_file, pointer, bytes.Length, out _, IntPtr.Zero);
        }
    }

    public void Dispose()
    {
        lock (_lock) _file?.Dispose();
    }
}
