using System.Collections.Frozen;
using System.ComponentModel;
using System.Diagnostics;
using System.Text;

namespace Pxe.Images.Tools;

/// <summary>
/// A tool invocation failed or the tool is missing. The message says which tool is missing and which Debian package
/// provides it, or which step failed, with the exit code and the tail of the tool's output.
/// </summary>
public sealed class ToolException : Exception
{
    public ToolException(string message)
        : this(message, tool: "", package: null, exitCode: null, outputTail: "", step: null, innerException: null)
    {
    }

    public ToolException(string message, Exception? innerException)
        : this(message, tool: "", package: null, exitCode: null, outputTail: "", step: null, innerException)
    {
    }

    public ToolException(string message, string tool, string? package, int? exitCode, string outputTail, string? step, Exception? innerException = null)
        : base(message, innerException)
    {
        Tool = tool;
        Package = package;
        ExitCode = exitCode;
        OutputTail = outputTail;
        Step = step;
    }

    /// <summary>The program that was asked for (name or path).</summary>
    public string Tool { get; }

    /// <summary>The Debian package that provides <see cref="Tool"/>, when known.</summary>
    public string? Package { get; }

    /// <summary>The exit code, or null when the tool never ran (missing) or was killed at its timeout.</summary>
    public int? ExitCode { get; }

    /// <summary>The last lines the tool wrote (standard error and output interleaved); empty when it never ran.</summary>
    public string OutputTail { get; }

    /// <summary>The build step the invocation belonged to (<see cref="ToolOptions.Step"/>), when given.</summary>
    public string? Step { get; }

    /// <summary>True when the tool was not found on the search path (it never ran).</summary>
    public bool IsMissing { get; init; }
}

/// <summary>The exit code and the text a finished tool wrote (standard output is empty when it went to <see cref="ToolOptions.StandardOutput"/>).</summary>
public sealed record ToolResult(int ExitCode, string StandardOutput, string StandardError);

/// <summary>How to run one tool invocation.</summary>
public sealed record ToolOptions
{
    /// <summary>The working directory; the current directory when null.</summary>
    public string? WorkingDirectory { get; init; }

    /// <summary>Variables set (or replaced) in the tool's environment, on top of this process's environment.</summary>
    public IReadOnlyDictionary<string, string>? Environment { get; init; }

    /// <summary>Copied to the tool's standard input, which is then closed; when null the tool sees an empty standard input.</summary>
    public Stream? StandardInput { get; init; }

    /// <summary>When set, the tool's standard output is copied here as bytes (for tools that write archives or images to it) instead of being captured as text.</summary>
    public Stream? StandardOutput { get; init; }

    /// <summary>When true a non-zero exit code is returned in <see cref="ToolResult.ExitCode"/> instead of thrown.</summary>
    public bool AllowFailure { get; init; }

    /// <summary>The tool is killed (with its children) after this long and a <see cref="ToolException"/> is thrown; no limit when null.</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>The build step this invocation belongs to, named in errors ("format the root file system").</summary>
    public string? Step { get; init; }

    /// <summary>When set, the command line and every line the tool writes are appended here (a build log); writes are serialized by the runner.</summary>
    public TextWriter? Log { get; init; }
}

/// <summary>Runs Debian's command-line tools. The one way the image pipeline calls an external program.</summary>
public interface IToolRunner
{
    /// <summary>
    /// Runs <paramref name="tool"/> (a program name looked up on the search path, or an absolute path) with
    /// <paramref name="arguments"/> passed as separate arguments (never through a shell).
    /// </summary>
    /// <exception cref="ToolException">The tool is missing, exited with a non-zero code (unless <see cref="ToolOptions.AllowFailure"/>), or ran past its timeout.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled; the tool and its children were killed.</exception>
    Task<ToolResult> RunAsync(string tool, IReadOnlyList<string> arguments, ToolOptions? options = null, CancellationToken cancellationToken = default);
}

/// <summary>
/// Runs tools as child processes: resolves the program on PATH and the system folders, knows which Debian package
/// provides each tool the image pipeline uses, captures output, and kills the whole process tree on cancellation or timeout.
/// </summary>
public sealed class ToolRunner : IToolRunner
{
    /// <summary>How many trailing output lines an error message quotes.</summary>
    public const int TailLines = 25;

    /// <summary>Folders searched after PATH: the system folders where Debian puts administrator tools.</summary>
    public static readonly IReadOnlyList<string> SystemDirectories = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];

    /// <summary>The Debian 12 package of each program the image pipeline (and its tests) call.</summary>
    private static readonly FrozenDictionary<string, string> PackageTable = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["debootstrap"] = "debootstrap",
        ["mmdebstrap"] = "mmdebstrap",
        ["mkfs.ext4"] = "e2fsprogs",
        ["mke2fs"] = "e2fsprogs",
        ["e2fsck"] = "e2fsprogs",
        ["debugfs"] = "e2fsprogs",
        ["tune2fs"] = "e2fsprogs",
        ["resize2fs"] = "e2fsprogs",
        ["mkfs.vfat"] = "dosfstools",
        ["mkfs.fat"] = "dosfstools",
        ["fsck.vfat"] = "dosfstools",
        ["fatlabel"] = "dosfstools",
        ["mcopy"] = "mtools",
        ["mmd"] = "mtools",
        ["mdir"] = "mtools",
        ["mtype"] = "mtools",
        ["mlabel"] = "mtools",
        ["mformat"] = "mtools",
        ["sfdisk"] = "fdisk",
        ["fdisk"] = "fdisk",
        ["sgdisk"] = "gdisk",
        ["qemu-img"] = "qemu-utils",
        ["mksquashfs"] = "squashfs-tools",
        ["unsquashfs"] = "squashfs-tools",
        ["xorriso"] = "xorriso",
        ["osirrox"] = "xorriso",
        ["genisoimage"] = "genisoimage",
        ["isohybrid"] = "syslinux-utils",
        ["cpio"] = "cpio",
        ["dpkg-deb"] = "dpkg",
        ["dpkg"] = "dpkg",
        ["apt-get"] = "apt",
        ["apt-cache"] = "apt",
        ["apt-config"] = "apt",
        ["grub-mkimage"] = "grub-common",
        ["grub-mkstandalone"] = "grub-common",
        ["fakeroot"] = "fakeroot",
        ["fakechroot"] = "fakechroot",
        ["chroot"] = "coreutils",
        ["dd"] = "coreutils",
        ["umount"] = "mount",
        ["ldd"] = "libc-bin",
        ["truncate"] = "coreutils",
        ["sha256sum"] = "coreutils",
        ["tar"] = "tar",
        ["gzip"] = "gzip",
        ["zstd"] = "zstd",
        ["xz"] = "xz-utils",
        ["busybox"] = "busybox",
        ["unshare"] = "util-linux",
        ["blkid"] = "util-linux",
        ["ssh-keygen"] = "openssh-client",
        ["update-initramfs"] = "initramfs-tools",
        ["systemctl"] = "systemd",
    }.ToFrozenDictionary(StringComparer.Ordinal);

    private readonly IReadOnlyList<string> _searchDirectories;

    /// <summary>A runner that searches PATH, then <see cref="SystemDirectories"/>.</summary>
    public ToolRunner()
        : this(null)
    {
    }

    /// <summary>A runner that searches <paramref name="searchDirectories"/> only (PATH and the system folders when null).</summary>
    public ToolRunner(IReadOnlyList<string>? searchDirectories)
    {
        _searchDirectories = searchDirectories ??
            [.. (System.Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries), .. SystemDirectories];
    }

    /// <summary>The Debian package that provides <paramref name="tool"/> (a program name or path), or null when the table does not know it.</summary>
    public static string? PackageOf(string tool) => PackageTable.GetValueOrDefault(Path.GetFileName(tool));

    /// <summary>The full path <paramref name="tool"/> resolves to, or null when it is not installed.</summary>
    public string? Resolve(string tool)
    {
        ArgumentException.ThrowIfNullOrEmpty(tool);
        if (tool.Contains('/', StringComparison.Ordinal))
        {
            return IsExecutable(tool) ? Path.GetFullPath(tool) : null;
        }

        foreach (var directory in _searchDirectories)
        {
            var candidate = Path.Combine(directory, tool);
            if (IsExecutable(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>The full path of <paramref name="tool"/>; throws a <see cref="ToolException"/> naming its package when it is missing.</summary>
    public string Require(string tool, string? step = null) => Resolve(tool) ?? throw Missing(tool, step);

    /// <inheritdoc />
    public async Task<ToolResult> RunAsync(string tool, IReadOnlyList<string> arguments, ToolOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        options ??= new ToolOptions();
        cancellationToken.ThrowIfCancellationRequested();
        var path = Require(tool, options.Step);

        var info = new ProcessStartInfo(path)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = options.WorkingDirectory ?? "",
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        if (options.Environment is { } environment)
        {
            foreach (var (key, value) in environment)
            {
                info.Environment[key] = value;
            }
        }

        var commandLine = FormatCommandLine(tool, arguments);
        var output = new OutputCapture(options.Log);
        output.LogOnly($"$ {commandLine}");

        using var process = new Process { StartInfo = info };
        try
        {
            process.Start();
        }
        catch (Win32Exception e)
        {
            throw new ToolException($"{StepPrefix(options.Step)}{tool} could not be started ({e.Message}); check that {path} is executable", tool, PackageOf(tool), null, "", options.Step, e);
        }

        using var timeout = options.Timeout is { } limit ? new CancellationTokenSource(limit) : null;
        using var linked = timeout is null
            ? CancellationTokenSource.CreateLinkedTokenSource(cancellationToken)
            : CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        var killed = 0;
        await using var registration = linked.Token.Register(() =>
        {
            Interlocked.Exchange(ref killed, 1);
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // already exited
            }
        });

        var stdoutTask = options.StandardOutput is { } sink
            ? CopyRawAsync(process.StandardOutput.BaseStream, sink)
            : ReadLinesAsync(process.StandardOutput, output);
        var stderrTask = ReadLinesAsync(process.StandardError, output);
        var stdinTask = FeedInputAsync(process, options.StandardInput);

        await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
        Exception? streamError = null;
        try
        {
            await Task.WhenAll(stdoutTask, stderrTask, stdinTask).ConfigureAwait(false);
        }
        catch (IOException e) when (Volatile.Read(ref killed) == 0)
        {
            streamError = e;
        }
        catch (IOException) when (Volatile.Read(ref killed) == 1)
        {
            // pipes broken by the kill
        }

        if (Volatile.Read(ref killed) == 1)
        {
            cancellationToken.ThrowIfCancellationRequested();
            output.LogOnly($"killed after {options.Timeout}");
            throw new ToolException(
                $"{StepPrefix(options.Step)}{tool} did not finish within {options.Timeout} and was killed{Tail(output)}",
                tool, PackageOf(tool), null, output.Tail(), options.Step);
        }

        var exitCode = process.ExitCode;
        output.LogOnly($"exit code {exitCode}");
        if (streamError is not null)
        {
            throw new ToolException($"{StepPrefix(options.Step)}{tool}: passing data to or from it failed: {streamError.Message}",
                tool, PackageOf(tool), exitCode, output.Tail(), options.Step, streamError);
        }

        if (exitCode != 0 && !options.AllowFailure)
        {
            throw new ToolException(
                $"{StepPrefix(options.Step)}{commandLine} exited with code {exitCode}{Tail(output)}",
                tool, PackageOf(tool), exitCode, output.Tail(), options.Step);
        }

        return new ToolResult(exitCode, await stdoutTask.ConfigureAwait(false), await stderrTask.ConfigureAwait(false));
    }

    /// <summary>The command line as a shell would accept it (for logs and error messages).</summary>
    public static string FormatCommandLine(string tool, IEnumerable<string> arguments) =>
        string.Join(' ', arguments.Prepend(tool).Select(Quote));

    private static string Quote(string value) =>
        value.Length > 0 && value.All(c => char.IsAsciiLetterOrDigit(c) || "-_./=:,+@%".Contains(c, StringComparison.Ordinal))
            ? value
            : "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    private ToolException Missing(string tool, string? step)
    {
        var package = PackageOf(tool);
        var where = tool.Contains('/', StringComparison.Ordinal) ? $"{tool} does not exist or is not executable" : $"{tool} is not installed (searched {string.Join(':', _searchDirectories.Distinct())})";
        var fix = package is null ? $"install the package that provides {Path.GetFileName(tool)}" : $"install the Debian package {package} (apt-get install {package})";
        return new ToolException($"{StepPrefix(step)}{where}; {fix}", tool, package, null, "", step) { IsMissing = true };
    }

    private static string StepPrefix(string? step) => step is null ? "" : $"step '{step}' failed: ";

    private static string Tail(OutputCapture output)
    {
        var tail = output.Tail();
        return tail.Length == 0 ? " (no output)" : $"; last output:{System.Environment.NewLine}{tail}";
    }

    private static bool IsExecutable(string path)
    {
        try
        {
            return File.Exists(path) &&
                (File.GetUnixFileMode(path) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0;
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static async Task FeedInputAsync(Process process, Stream? input)
    {
        var stdin = process.StandardInput.BaseStream;
        try
        {
            if (input is not null)
            {
                await input.CopyToAsync(stdin).ConfigureAwait(false);
            }
        }
        catch (IOException) when (process.HasExited)
        {
            // the tool stopped reading; its exit code tells what happened
        }
        finally
        {
            try
            {
                await stdin.DisposeAsync().ConfigureAwait(false);
            }
            catch (IOException)
            {
                // broken pipe on close: same as above
            }
        }
    }

    private static async Task<string> CopyRawAsync(Stream source, Stream sink)
    {
        await source.CopyToAsync(sink).ConfigureAwait(false);
        return "";
    }

    private static async Task<string> ReadLinesAsync(StreamReader reader, OutputCapture output)
    {
        var text = new StringBuilder();
        var line = new StringBuilder();
        var buffer = new char[4096];
        int read;
        while ((read = await reader.ReadAsync(buffer).ConfigureAwait(false)) > 0)
        {
            text.Append(buffer, 0, read);
            for (var i = 0; i < read; i++)
            {
                if (buffer[i] == '\n')
                {
                    output.Line(line.ToString());
                    line.Clear();
                }
                else if (buffer[i] != '\r')
                {
                    line.Append(buffer[i]);
                }
            }
        }

        if (line.Length > 0)
        {
            output.Line(line.ToString());
        }

        return text.ToString();
    }

    /// <summary>The interleaved tail of a tool's output, and the optional build log every line also goes to.</summary>
    private sealed class OutputCapture(TextWriter? log)
    {
        private readonly Lock _lock = new();
        private readonly Queue<string> _tail = new();

        public void LogOnly(string line)
        {
            lock (_lock)
            {
                log?.WriteLine(line);
            }
        }

        public void Line(string line)
        {
            lock (_lock)
            {
                if (_tail.Count == TailLines)
                {
                    _tail.Dequeue();
                }

                _tail.Enqueue(line);
                log?.WriteLine(line);
            }
        }

        public string Tail()
        {
            lock (_lock)
            {
                return string.Join(System.Environment.NewLine, _tail);
            }
        }
    }
}
