namespace Pxe.Dhcp.Tests.Infrastructure;

/// <summary>
/// A test that builds a lab network and runs real tools. On a developer machine it is skipped when it cannot run
/// (not root, no 'ip netns', a tool missing); under CI=true it always runs, installing missing tools.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class LabFactAttribute : FactAttribute
{
    /// <param name="tools">Pairs "executable=package", for example "dhclient=isc-dhcp-client".</param>
    public LabFactAttribute(params string[] tools)
    {
        Skip = Tools.SkipReason(tools);
    }
}

/// <summary>Finds, and in CI installs, the tools the lab tests use.</summary>
internal static class Tools
{
    private static readonly Lock InstallLock = new();

    public static bool IsCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    public static string? SkipReason(string[] tools)
    {
        if (IsCi)
        {
            return null;
        }

        if (!OperatingSystem.IsLinux() || Environment.UserName != "root")
        {
            return "lab tests need root on Linux (network namespaces)";
        }

        var missing = tools.Select(t => t.Split('=')[0]).Prepend("ip").Where(t => Find(t) is null).ToList();
        return missing.Count == 0 ? null : $"missing tools: {string.Join(", ", missing)} (CI=true installs them)";
    }

    /// <summary>Returns the tool's path, installing its package under CI; fails when it cannot be had.</summary>
    public static string Require(string executable, string package)
    {
        if (Find(executable) is { } path)
        {
            return path;
        }

        Assert.True(IsCi, $"{executable} is missing; install package {package}");
        lock (InstallLock)
        {
            if (Find(executable) is null)
            {
                var (code, output) = Lab.RunAllowingFailure(TimeSpan.FromMinutes(5), "apt-get", "install", "-y", "--no-install-recommends", package);
                if (code != 0)
                {
                    Lab.RunAllowingFailure(TimeSpan.FromMinutes(5), "apt-get", "update");
                    (code, output) = Lab.RunAllowingFailure(TimeSpan.FromMinutes(5), "apt-get", "install", "-y", "--no-install-recommends", package);
                }

                Assert.True(code == 0, $"apt-get install {package} failed: {output}");
            }
        }

        return Find(executable) ?? throw new InvalidOperationException($"{package} installed but {executable} not found");
    }

    private static string? Find(string executable)
    {
        foreach (var dir in new[] { "/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/local/sbin", "/usr/local/bin" })
        {
            string path = Path.Combine(dir, executable);
            if (File.Exists(path))
            {
                return path;
            }
        }

        return null;
    }
}
