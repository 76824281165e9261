using System.Diagnostics;

namespace Pxe.Tftp.Tests.Support;

/// <summary>
/// A fact that needs command-line tools. On a developer machine (CI unset) a missing tool skips the test with
/// the reason; under CI=true the test runs and <see cref="Tools.Require"/> installs the package or fails.
/// </summary>
public sealed class ToolFactAttribute : FactAttribute
{
    public ToolFactAttribute(params string[] tools)
    {
        Skip = Tools.SkipReason(tools);
    }
}

/// <summary>A theory that needs command-line tools (see <see cref="ToolFactAttribute"/>).</summary>
public sealed class ToolTheoryAttribute : TheoryAttribute
{
    public ToolTheoryAttribute(params string[] tools)
    {
        Skip = Tools.SkipReason(tools);
    }
}

/// <summary>Finding, installing and running the real peers (Debian packages).</summary>
internal static class Tools
{
    /// <summary>Tool → Debian package. "root" stands for the privilege that network namespaces need.</summary>
    private static readonly Dictionary<string, string> Packages = new()
    {
        ["tftp"] = "tftp-hpa",
        ["curl"] = "curl",
        ["atftp"] = "atftp",
        ["ip"] = "iproute2",
        ["in.tftpd"] = "tftpd-hpa",
    };

    private static bool IsCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    public static string? SkipReason(string[] tools)
    {
        if (IsCi)
        {
            return null;
        }

        var missing = tools.Where(t => t == "root" ? !IsRoot : Find(t) is null).ToList();
        return missing.Count == 0 ? null : $"needs {string.Join(", ", missing)} (installed automatically when CI=true)";
    }

    public static bool IsRoot => Environment.UserName == "root" || Environment.GetEnvironmentVariable("USER") == "root";

    /// <summary>The full path of a tool; under CI installs its package when missing, else fails.</summary>
    public static string Require(string tool)
    {
        if (tool == "root")
        {
            Assert.True(IsRoot, "This test creates network namespaces and must run as root.");
            return tool;
        }

        var path = Find(tool);
        if (path is null && IsCi && Packages.TryGetValue(tool, out var package))
        {
            Run("apt-get", ["install", "-y", package], TimeSpan.FromMinutes(5));
            path = Find(tool);
        }

        Assert.True(path is not null, $"{tool} is missing; install the Debian package {Packages.GetValueOrDefault(tool, tool)}.");
        return path!;
    }

    public static string? Find(string tool)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Concat(["/usr/sbin", "/sbin", "/usr/bin"]))
        {
            var candidate = Path.Combine(dir, tool);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>Runs a process to completion (bounded by the timeout) and returns its exit code and output.</summary>
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
            throw new TimeoutException($"{file} {string.Join(' ', info.ArgumentList)} did not finish within {timeout}.");
        }

        process.WaitForExit();
        return new ProcessResult(process.ExitCode, stdout.Result, stderr.Result);
    }

    public static async Task<ProcessResult> RunAsync(string file, IEnumerable<string> arguments, TimeSpan timeout, string? workingDirectory = null) =>
        await Task.Run(() => Run(file, arguments, timeout, workingDirectory));
}

internal sealed record ProcessResult(int ExitCode, string Stdout, string Stderr)
{
    public string Output => Stdout + Stderr;
}
