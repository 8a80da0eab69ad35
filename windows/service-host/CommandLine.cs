using System;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace HypervIcExporter.ServiceHost;

/// <summary>Builds node's command line: the exporter's runtime settings from its shebang, then its arguments.</summary>
internal static class CommandLine
{
    private static readonly char[] NeedsQuotes = [' ', '\t', '\n', '\v', '"'];

    /// <summary>
    /// Quotes one argument so that the Microsoft C runtime (node.exe's wmain) and CommandLineToArgvW read
    /// it back unchanged: backslashes are literal except before a quote, where each is doubled and the
    /// quote escaped; trailing backslashes are doubled when the argument is wrapped in quotes.
    /// </summary>
    public static string Quote(string argument)
    {
        if (argument.Length > 0 && argument.IndexOfAny(NeedsQuotes) < 0) return argument;
        var quoted = new StringBuilder(argument.Length + 8).Append('"');
        int backslashes = 0;
        foreach (char c in argument)
        {
            if (c == '\\')
            {
                backslashes++;
                continue;
            }
            if (c == '"')
            {
                quoted.Append('\\', backslashes * 2 + 1).Append('"');
            }
            else
            {
                quoted.Append('\\', backslashes).Append(c);
            }
            backslashes = 0;
        }
        return quoted.Append('\\', backslashes * 2).Append('"').ToString();
    }

    /// <summary>
    /// The node options of a shebang such as
    /// <c>#!/usr/bin/env -S MALLOC_ARENA_MAX=2 node --max-semi-space-size=8 --heap-growing-percent=25</c>:
    /// the words after <c>node</c> that start with <c>--</c>. The VAR=value words before it are for glibc
    /// and mean nothing to the Windows build of node. No shebang, or none naming node: no options.
    /// </summary>
    public static IReadOnlyList<string> NodeOptionsFromShebang(string firstLine)
    {
        var options = new List<string>();
        if (!firstLine.StartsWith("#!", StringComparison.Ordinal)) return options;
        string[] words = firstLine.Substring(2).Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
        int node = Array.FindIndex(words, word => word == "node" || word.EndsWith("/node", StringComparison.Ordinal));
        if (node < 0) return options;
        for (int i = node + 1; i < words.Length && words[i].StartsWith("--", StringComparison.Ordinal); i++) options.Add(words[i]);
        return options;
    }

    /// <summary>The first line of a file (at most 4 KiB of it), without its line ending.</summary>
    public static string ReadFirstLine(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var buffer = new byte[4096];
        int length = file.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        string text = Encoding.UTF8.GetString(buffer, 0, length);
        int end = text.IndexOf('\n');
        return (end < 0 ? text : text.Substring(0, end)).TrimEnd('\r');
    }

    /// <summary><c>"node.exe" options… "script" arguments…</c>, each quoted for the C runtime.</summary>
    public static string Build(string node, IEnumerable<string> nodeOptions, string script, IEnumerable<string> arguments)
    {
        // argv[0] follows other rules (no backslash escapes); a Windows path holds no quote, so quotes suffice.
        var line = new StringBuilder().Append('"').Append(node).Append('"');
        foreach (string option in nodeOptions) line.Append(' ').Append(Quote(option));
        line.Append(' ').Append(Quote(script));
        foreach (string argument in arguments) line.Append(' ').Append(Quote(argument));
        return line.ToString();
    }
}
