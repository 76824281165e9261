using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace Pxe.Dhcp.Tests.Infrastructure;

/// <summary>
/// A lab network made of network namespaces and veth pairs that the test creates with unique names and removes
/// afterwards, with the processes it started (stopped by PID). Nothing leaves the namespaces.
/// </summary>
internal sealed partial class Lab : IDisposable
{
    private readonly string _suffix = Guid.NewGuid().ToString("N")[..6];
    private readonly List<string> _namespaces = [];
    private readonly List<LabProcess> _processes = [];

    public Lab()
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("pxd-lab-").FullName;
    }

    /// <summary>Scratch folder for scripts, lease files and captures.</summary>
    public string Directory { get; }

    /// <summary>A third octet unlikely to collide between concurrent runs.</summary>
    public int Octet { get; } = Random.Shared.Next(10, 250);

    /// <summary>Creates a namespace with loopback up; returns its name.</summary>
    public string Namespace(string role)
    {
        string name = $"pxd-{role}-{_suffix}";
        Run("ip", "netns", "add", name);
        _namespaces.Add(name);
        Run("ip", "-n", name, "link", "set", "lo", "up");
        return name;
    }

    /// <summary>A veth pair with one end in each namespace, both up.</summary>
    public void Veth(string nsA, string ifA, string nsB, string ifB, string? macA = null)
    {
        Run("ip", "link", "add", $"pa{_suffix}", "type", "veth", "peer", "name", $"pb{_suffix}");
        Run("ip", "link", "set", $"pa{_suffix}", "netns", nsA);
        Run("ip", "link", "set", $"pb{_suffix}", "netns", nsB);
        Run("ip", "-n", nsA, "link", "set", $"pa{_suffix}", "name", ifA);
        Run("ip", "-n", nsB, "link", "set", $"pb{_suffix}", "name", ifB);
        if (macA is not null)
        {
            Run("ip", "-n", nsA, "link", "set", ifA, "address", macA);
        }

        Run("ip", "-n", nsA, "link", "set", ifA, "up");
        Run("ip", "-n", nsB, "link", "set", ifB, "up");
    }

    public void Address(string ns, string ifName, string cidr) => Run("ip", "-n", ns, "addr", "add", cidr, "dev", ifName);

    /// <summary>Runs a command to completion; throws with its output when it fails.</summary>
    public static string Run(string file, params string[] args)
    {
        var (code, output) = RunAllowingFailure(TimeSpan.FromSeconds(60), file, args);
        if (code != 0)
        {
            throw new InvalidOperationException($"'{file} {string.Join(' ', args)}' exited {code}: {output}");
        }

        return output;
    }

    /// <summary>Runs a command to completion (bounded by <paramref name="timeout"/>); returns exit code and output.</summary>
    public static (int Code, string Output) RunAllowingFailure(TimeSpan timeout, string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout))
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
            return (-1, $"timed out after {timeout}: {stdout.Result}{stderr.Result}");
        }

        return (p.ExitCode, stdout.Result + stderr.Result);
    }

    /// <summary>Runs a command inside a namespace to completion.</summary>
    public static (int Code, string Output) RunIn(string ns, TimeSpan timeout, string file, params string[] args)
        => RunAllowingFailure(timeout, "ip", ["netns", "exec", ns, file, .. args]);

    /// <summary>Starts a long-running process inside a namespace; the lab stops it by PID on dispose.</summary>
    public LabProcess Start(string ns, string file, params string[] args)
    {
        var psi = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in (string[])["netns", "exec", ns, file, .. args])
        {
            psi.ArgumentList.Add(a);
        }

        var process = new LabProcess(Process.Start(psi)!);
        _processes.Add(process);
        return process;
    }

    /// <summary>Writes an executable shell script into the lab folder.</summary>
    public string Script(string name, string body)
    {
        string path = Path.Combine(Directory, name);
        File.WriteAllText(path, "#!/bin/sh\n" + body);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        return path;
    }

    /// <summary>
    /// Runs <paramref name="action"/> on a new thread that first enters the namespace (setns); sockets created there
    /// stay in the namespace afterwards.
    /// </summary>
    public static T InNamespace<T>(string ns, Func<T> action)
    {
        T result = default!;
        Exception? error = null;
        var thread = new Thread(() =>
        {
            try
            {
                using var handle = File.OpenHandle($"/var/run/netns/{ns}", FileMode.Open, FileAccess.Read);
                if (SetNs((int)handle.DangerousGetHandle(), CloneNewNet) != 0)
                {
                    throw new InvalidOperationException($"setns({ns}) failed: errno {Marshal.GetLastPInvokeError()}");
                }

                result = action();
            }
            catch (Exception ex)
            {
                error = ex;
            }
        });
        thread.Start();
        thread.Join();
        if (error is not null)
        {
            throw new InvalidOperationException($"in namespace {ns}: {error.Message}", error);
        }

        return result;
    }

    /// <summary>Waits until <paramref name="condition"/> holds, polling; fails with <paramref name="what"/> after the timeout.</summary>
    public static async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout, Func<string> what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"timed out after {timeout}: {what()}");
            }

            await Task.Delay(100);
        }
    }

    public void Dispose()
    {
        foreach (var process in _processes)
        {
            process.Dispose();
        }

        foreach (var ns in _namespaces)
        {
            RunAllowingFailure(TimeSpan.FromSeconds(20), "ip", "netns", "del", ns);
        }

        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private const int CloneNewNet = 0x40000000;

    [LibraryImport("libc", EntryPoint = "setns", SetLastError = true)]
    private static partial int SetNs(int fd, int nstype);
}

/// <summary>A process the lab started, with its output collected.</summary>
internal sealed class LabProcess : IDisposable
{
    private readonly StringBuilder _output = new();

    public LabProcess(Process process)
    {
        Process = process;
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public Process Process { get; }

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>Waits until the output contains <paramref name="text"/> (a peer saying it is ready); fails with the output so far.</summary>
    public async Task WaitForOutputAsync(string text, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!Output.Contains(text, StringComparison.Ordinal))
        {
            if (DateTime.UtcNow > deadline || Process.HasExited)
            {
                throw new TimeoutException($"'{text}' did not appear within {timeout.TotalSeconds} s; output: {Output}");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>Sends a signal to the process by its PID ("ip netns exec" execs the command, so the PID is the command's).</summary>
    public void Signal(string signal) => Lab.RunAllowingFailure(TimeSpan.FromSeconds(5), "kill", "-" + signal, Process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));

    public bool WaitForExit(TimeSpan timeout) => Process.WaitForExit(timeout);

    public void Dispose()
    {
        try
        {
            if (!Process.HasExited)
            {
                Process.Kill(entireProcessTree: true);
                Process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
        }

        Process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }
}
