using System.Diagnostics;
using Xunit;

namespace Pxe.Testing;

/// <summary>
/// A fact that needs command-line tools (real peers from Debian packages). Each tool is <c>program</c> or
/// <c>program=package</c>; <c>root</c> stands for the privilege network namespaces need. On a developer machine
/// (CI unset) a missing tool skips the test with the reason; under CI=true the test runs and
/// <see cref="Tools.Require(string)"/> installs the package or fails.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class ToolFactAttribute : FactAttribute
{
    public ToolFactAttribute(params string[] tools) => Skip = Tools.SkipReason(tools);
}

/// <summary>A theory that needs command-line tools (see <see cref="ToolFactAttribute"/>).</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class ToolTheoryAttribute : TheoryAttribute
{
    public ToolTheoryAttribute(params string[] tools) => Skip = Tools.SkipReason(tools);
}

/// <summary>The exit code and output of a finished process.</summary>
public sealed record ProcessResult(int ExitCode, string Stdout, string Stderr)
{
    public string Output => Stdout + Stderr;
}

/// <summary>Finding, installing (under CI) and running the real peers.</summary>
public static class Tools
{
    /// <summary>Programs whose Debian package is not their own name.</summary>
    private static readonly Dictionary<string, string> Packages = new(StringComparer.Ordinal)
    {
        ["tftp"] = "tftp-hpa",
        ["in.tftpd"] = "tftpd-hpa",
        ["ip"] = "iproute2",
        ["dhclient"] = "isc-dhcp-client",
        ["dhcrelay"] = "isc-dhcp-relay",
        ["perfdhcp"] = "kea-admin",
        ["dnsmasq"] = "dnsmasq-base",
        ["busybox"] = "busybox-static",
        ["debconf-set-selections"] = "debconf",
        ["grub-script-check"] = "grub-common",
        ["qemu-system-x86_64"] = "qemu-system-x86",
        ["qemu-img"] = "qemu-utils",
    };

    private static readonly Lock InstallLock = new();

    /// <summary>True under CI (CI=true): missing tools are installed, never skipped.</summary>
    public static bool IsCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>True when running as root (network namespaces, raw sockets, port 67).</summary>
    public static bool IsRoot => Environment.UserName == "root";

    /// <summary>Why a test needing <paramref name="tools"/> cannot run here, or null.</summary>
    public static string? SkipReason(string[] tools)
    {
        if (IsCi)
        {
            return null;
        }

        var missing = tools.Select(t => t.Split('=')[0]).Where(t => t == "root" ? !IsRoot : Locate(t) is null).ToList();
        return missing.Count == 0 ? null : $"needs {string.Join(", ", missing)} (installed automatically when CI=true)";
    }

    /// <summary>The full path of <paramref name="tool"/> (<c>program</c> or <c>program=package</c>); under CI installs the package when missing, else fails.</summary>
    public static string Require(string tool)
    {
        var parts = tool.Split('=');
        return parts.Length == 2 ? Require(parts[0], parts[1]) : Require(tool, Packages.GetValueOrDefault(tool, tool));
    }

    /// <summary>The full path of <paramref name="program"/>; under CI installs <paramref name="package"/> when missing, else fails.</summary>
    public static string Require(string program, string package)
    {
        if (program == "root")
        {
            Assert.True(IsRoot, "this test creates network namespaces and must run as root");
            return program;
        }

        if (Locate(program) is { } path)
        {
            return path;
        }

        Assert.True(IsCi, $"{program} is missing; install the Debian package {package}");
        lock (InstallLock)
        {
            if (Locate(program) is null)
            {
                var result = Run("apt-get", ["install", "-y", "--no-install-recommends", package], TimeSpan.FromMinutes(10));
                if (result.ExitCode != 0)
                {
                    Run("apt-get", ["update"], TimeSpan.FromMinutes(5));
                    result = Run("apt-get", ["install", "-y", "--no-install-recommends", package], TimeSpan.FromMinutes(10));
                }

                Assert.True(result.ExitCode == 0, $"apt-get install {package} failed: {result.Output}");
            }
        }

        return Locate(program) ?? throw new InvalidOperationException($"{package} is installed but {program} is not found");
    }

    /// <summary><paramref name="program"/> found on the search path, or, when it is an absolute path (a data file such as firmware), that file; null when absent.</summary>
    public static string? Locate(string program) => program.StartsWith('/') ? (File.Exists(program) ? program : null) : Find(program);

    /// <summary>The full path of a program on PATH or in the system folders, or null.</summary>
    public static string? Find(string program)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Concat(["/usr/sbin", "/sbin", "/usr/bin", "/bin"]))
        {
            var candidate = Path.Combine(dir, program);
            if (dir.Length > 0 && File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>Runs a process to completion (bounded by the timeout: then it is killed) and returns its exit code and output.</summary>
    public static ProcessResult Run(string file, IEnumerable<string> arguments, TimeSpan timeout, string? workingDirectory = null)
    {
        var info = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            throw new TimeoutException($"{file} {string.Join(' ', info.ArgumentList)} did not finish within {timeout}");
        }

        process.WaitForExit();
        return new ProcessResult(process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary><see cref="Run"/> off the calling thread.</summary>
    public static Task<ProcessResult> RunAsync(string file, IEnumerable<string> arguments, TimeSpan timeout, string? workingDirectory = null) =>
        Task.Run(() => Run(file, arguments, timeout, workingDirectory));
}

/// <summary>The repository checkout the tests run from (the folder holding PxeServer.sln).</summary>
public static class RepoPaths
{
    private static readonly Lazy<string> RootPath = new(FindRoot);

    public static string Root => RootPath.Value;

    public static string Profiles => Path.Combine(Root, "profiles");

    public static string Templates => Path.Combine(Root, "templates");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "PxeServer.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"no PxeServer.sln above {AppContext.BaseDirectory}; run the tests from a checkout of the repository");
    }
}
