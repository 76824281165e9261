using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Pxe.Images.Installer;
using Xunit.Abstractions;

namespace Pxe.Lab.Tests.Support;

/// <summary>How a lab's server is set up.</summary>
internal sealed record LabOptions
{
    /// <summary>Send IPv6 router advertisements on the lab bridge so iPXE stops waiting for IPv6 (Dhcp:FastIpxe).</summary>
    public bool FastIpxe { get; init; }

    /// <summary>Extra profile files (name → YAML) beside the repository's profiles.</summary>
    public IReadOnlyDictionary<string, string> Profiles { get; init; } = new Dictionary<string, string>();

    /// <summary>Files to serve under /files (path below files/ → file to copy, hard-linked when possible).</summary>
    public IReadOnlyDictionary<string, string> Files { get; init; } = new Dictionary<string, string>();

    /// <summary>Copy the Debian installer's netboot kernel and initrd into files/distros/debian12-amd64/.</summary>
    public bool DebianInstaller { get; init; }

    /// <summary>How often the server looks for installs past their deadline.</summary>
    public TimeSpan InstallTimeoutCheckInterval { get; init; } = TimeSpan.FromSeconds(2);
}

/// <summary>One VM's power-on, as <c>tools/lab vm</c> runs it.</summary>
internal sealed record VmOptions
{
    public required string Name { get; init; }

    public required string Mac { get; init; }

    /// <summary>bios or uefi.</summary>
    public string Firmware { get; init; } = "bios";

    /// <summary>e1000 or virtio.</summary>
    public string Nic { get; init; } = "e1000";

    public int MemoryMiB { get; init; } = 512;

    /// <summary>Size of the VM's disk when it is created (qemu-img size, e.g. 2G).</summary>
    public string DiskSize { get; init; } = "2G";

    /// <summary>Hard limit of this power-on; QEMU is killed after it.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Power the VM off as soon as its serial console shows this text (e.g. the disk's boot message).</summary>
    public string? StopWhenSerialShows { get; init; }

    /// <summary>Power the VM off as soon as this holds (polled), e.g. once the server saw what the test wanted.</summary>
    public Func<Task<bool>>? StopWhen { get; init; }
}

/// <summary>How a power-on ended.</summary>
internal sealed record VmRun(int ExitCode, bool StoppedByTest, bool TimedOut, TimeSpan Elapsed, string Serial);

/// <summary>An event as the API shows it.</summary>
internal sealed record LabEvent(long Id, DateTimeOffset Time, string Kind, string Message, string Actor);

/// <summary>
/// A private lab network (<c>tools/lab</c>): a network namespace with a bridge (10.211.0.1/24), `pxe serve` inside
/// it with full DHCP on that bridge only, and QEMU VMs on taps of the bridge. Everything is removed on dispose,
/// also when the test failed; logs go to the test output.
/// </summary>
internal sealed class TestLab : IAsyncDisposable
{
    public const string ServerAddress = "10.211.0.1";
    public const string ServerUrl = "http://" + ServerAddress + ":8080";

    private static readonly string LabScript = Path.Combine(RepoPaths.Root, "tools", "lab");
    private readonly ITestOutputHelper _output;
    private readonly string _root;
    private readonly List<string> _vmLogs = [];
    private Process? _server;
    private string _token = "";

    private TestLab(string name, string root, ITestOutputHelper output)
    {
        Name = name;
        _root = root;
        _output = output;
    }

    /// <summary>The lab's name (namespace pxelab-NAME).</summary>
    public string Name { get; }

    /// <summary>The server's data folder.</summary>
    public string Data => Path.Combine(_root, "data");

    /// <summary>The programs a lab test needs, for <see cref="ToolFactAttribute"/>.</summary>
    public static readonly string[] Requirements =
    [
        "root", "ip=iproute2", "curl", "qemu-system-x86_64=qemu-system-x86", "qemu-img=qemu-utils",
        "/usr/lib/ipxe/qemu/efi-e1000.rom=ipxe-qemu", "/usr/share/OVMF/OVMF_CODE_4M.fd=ovmf",
        InstallerBuildOptions.DebianInstallerKernel + "=debian-installer-12-netboot-amd64", "/bin/busybox=busybox-static",
        "/usr/lib/ipxe/undionly.kpxe=ipxe", "/usr/lib/PXELINUX/pxelinux.0=pxelinux", "/usr/lib/syslinux/modules/bios/ldlinux.c32=syslinux-common", "/usr/lib/grub/x86_64-efi/monolithic/grubnetx64.efi=grub-efi-amd64-bin",
        "apt-get", "dpkg-deb",
    ];

    public static async Task<TestLab> StartAsync(ITestOutputHelper output, LabOptions? options = null)
    {
        options ??= new LabOptions();
        foreach (var requirement in Requirements)
        {
            Tools.Require(requirement);
        }

        var name = "t" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
        var root = Path.Combine(Path.GetTempPath(), "pxe-lab-" + name);
        var lab = new TestLab(name, root, output);
        try
        {
            await lab.SetUpAsync(options);
        }
        catch
        {
            await lab.DisposeAsync();
            throw;
        }

        return lab;
    }

    private async Task SetUpAsync(LabOptions options)
    {
        var installer = await SharedInstaller.GetAsync();
        Directory.CreateDirectory(Path.Combine(Data, "files", "installer"));
        Directory.CreateDirectory(Path.Combine(Data, "files", "images"));
        File.Copy(installer.KernelPath, Path.Combine(Data, "files", "installer", "linux"));
        File.Copy(installer.InitrdPath, Path.Combine(Data, "files", "installer", "initrd.gz"));
        await File.WriteAllBytesAsync(Path.Combine(Data, "files", "images", "hello-disk.img"), HelloDisk.Build());
        if (options.DebianInstaller)
        {
            var di = Path.GetDirectoryName(InstallerBuildOptions.DebianInstallerKernel)!;
            var target = Path.Combine(Data, "files", "distros", "debian12-amd64");
            Directory.CreateDirectory(target);
            File.Copy(Path.Combine(di, "linux"), Path.Combine(target, "linux"));
            File.Copy(Path.Combine(di, "initrd.gz"), Path.Combine(target, "initrd.gz"));
        }

        foreach (var (relative, source) in options.Files)
        {
            var target = Path.Combine(Data, "files", relative);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            Check(await Tools.RunAsync("cp", ["--reflink=auto", "--sparse=always", source, target], TimeSpan.FromMinutes(2)), "copy " + relative);
        }

        Check(await Tools.RunAsync(Path.Combine(RepoPaths.Root, "tools", "tftp-root"), [Path.Combine(Data, "tftp")], TimeSpan.FromSeconds(30)), "tools/tftp-root");
        var spec = Path.Combine(_root, "profiles");
        CopyDirectory(RepoPaths.Profiles, spec);
        foreach (var (file, yaml) in options.Profiles)
        {
            await File.WriteAllTextAsync(Path.Combine(spec, file), yaml);
        }

        var settings = Path.Combine(_root, "settings.json");
        await File.WriteAllTextAsync(settings, JsonSerializer.Serialize(new
        {
            Pxe = new
            {
                HttpUrl = ServerUrl,
                InstallTimeoutCheckInterval = options.InstallTimeoutCheckInterval.ToString("c", CultureInfo.InvariantCulture),
                Tftp = new { BindAddress = ServerAddress },
                Dhcp = new
                {
                    Mode = "full",
                    Interfaces = new[] { "labbr0" },
                    options.FastIpxe,
                    Subnets = new[]
                    {
                        new { Network = "10.211.0.0/24", Interface = "labbr0", Pool = "10.211.0.100-10.211.0.199", Router = ServerAddress, Dns = new[] { ServerAddress }, Domain = "lab.test" },
                    },
                },
            },
        }));

        Check(await Tools.RunAsync(LabScript, ["create", Name], TimeSpan.FromSeconds(30)), "tools/lab create");
        var psi = new ProcessStartInfo(LabScript)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in (string[])["exec", Name, Path.Combine(AppContext.BaseDirectory, "pxe"), "serve", "--config", settings, "--data-dir", Data,
                     "--spec-dir", spec, "--templates-dir", RepoPaths.Templates])
        {
            psi.ArgumentList.Add(a);
        }

        var log = new StreamWriter(Path.Combine(_root, "server.log")) { AutoFlush = true };
        _server = Process.Start(psi) ?? throw new InvalidOperationException("pxe serve did not start");
        _server.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (log) { log.WriteLine(e.Data); } } };
        _server.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (log) { log.WriteLine(e.Data); } } };
        _server.BeginOutputReadLine();
        _server.BeginErrorReadLine();

        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (true)
        {
            Assert.False(_server.HasExited, $"pxe serve exited with {(_server.HasExited ? _server.ExitCode : 0)}:\n{ReadLog("server.log")}");
            if (File.Exists(Path.Combine(Data, "admin-token")) && (await CurlAsync("GET", "/healthz", null, auth: false)).Status == 200)
            {
                break;
            }

            Assert.True(DateTime.UtcNow < deadline, "pxe serve did not answer /healthz in the lab within 90 s:\n" + ReadLog("server.log"));
            await Task.Delay(250);
        }

        _token = (await File.ReadAllTextAsync(Path.Combine(Data, "admin-token"))).Trim();
    }

    /// <summary>A call to the server's API from inside the lab (curl in the namespace): status and body.</summary>
    public async Task<(int Status, string Body)> CurlAsync(string method, string path, string? json, bool auth = true)
    {
        List<string> args = ["exec", Name, "curl", "-s", "-m", "20", "-X", method, "-w", "\n%{http_code}"];
        if (auth)
        {
            args.AddRange(["-H", "Authorization: Bearer " + _token]);
        }

        if (json is not null)
        {
            args.AddRange(["-H", "Content-Type: application/json", "--data-binary", json]);
        }

        args.Add(ServerUrl + path);
        var r = await Tools.RunAsync(LabScript, args, TimeSpan.FromSeconds(30));
        var cut = r.Stdout.LastIndexOf('\n');
        return cut < 0 || !int.TryParse(r.Stdout[(cut + 1)..].Trim(), CultureInfo.InvariantCulture, out var status)
            ? (0, r.Output)
            : (status, r.Stdout[..cut]);
    }

    /// <summary>PUT a machine; asserts success.</summary>
    public async Task AddMachineAsync(string mac, string hostname, string profile)
    {
        var (status, body) = await CurlAsync("PUT", $"/api/v1/machines/{mac}", JsonSerializer.Serialize(new { hostname, profile }));
        Assert.True(status == 200, $"PUT machine {mac}: {status} {body}");
    }

    /// <summary>The machine as the API shows it.</summary>
    public async Task<JsonElement> MachineAsync(string mac)
    {
        var (status, body) = await CurlAsync("GET", $"/api/v1/machines/{mac}", null);
        Assert.True(status == 200, $"GET machine {mac}: {status} {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    public async Task<string> StateAsync(string mac) => (await MachineAsync(mac)).GetProperty("state").GetString()!;

    /// <summary>The machine's events, oldest first.</summary>
    public async Task<IReadOnlyList<LabEvent>> EventsAsync(string mac)
    {
        var (status, body) = await CurlAsync("GET", $"/api/v1/events?mac={mac}&limit=1000", null);
        Assert.True(status == 200, $"GET events: {status} {body}");
        return JsonDocument.Parse(body).RootElement.EnumerateArray()
            .Select(e => new LabEvent(e.GetProperty("id").GetInt64(), e.GetProperty("time").GetDateTimeOffset(), e.GetProperty("kind").GetString()!,
                e.GetProperty("message").GetString()!, e.GetProperty("actor").GetString()!))
            .OrderBy(e => e.Id).ToList();
    }

    /// <summary>Waits until the machine is in <paramref name="state"/>.</summary>
    public async Task WaitForStateAsync(string mac, string state, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        string current;
        while ((current = await StateAsync(mac)) != state)
        {
            Assert.True(DateTime.UtcNow < deadline, $"{mac} is {current}, not {state}, after {timeout.TotalSeconds} s");
            await Task.Delay(500);
        }
    }

    /// <summary>Powers a VM on (one QEMU run, ending when the guest reboots or powers off) and waits for it to stop.</summary>
    public async Task<VmRun> RunVmAsync(VmOptions vm)
    {
        var disk = Path.Combine(_root, vm.Name + ".qcow2");
        var serial = Path.Combine(_root, $"{vm.Name}.{_vmLogs.Count(l => l.StartsWith(vm.Name + ".", StringComparison.Ordinal)) + 1}.serial.log");
        _vmLogs.Add(Path.GetFileName(serial));
        var psi = new ProcessStartInfo(LabScript) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in (string[])["vm", Name, vm.Name, "--mac", vm.Mac, "--firmware", vm.Firmware, "--nic", vm.Nic, "--disk", disk, "--disk-size", vm.DiskSize, "--serial", serial,
                     "--memory", vm.MemoryMiB.ToString(CultureInfo.InvariantCulture), "--timeout", ((int)vm.Timeout.TotalSeconds).ToString(CultureInfo.InvariantCulture), "--no-reboot"])
        {
            psi.ArgumentList.Add(a);
        }

        var clock = Stopwatch.StartNew();
        using var process = Process.Start(psi) ?? throw new InvalidOperationException("tools/lab vm did not start");
        var stderr = process.StandardError.ReadToEndAsync();
        _ = process.StandardOutput.ReadToEndAsync();
        var stopped = false;
        while (!process.HasExited)
        {
            await Task.WhenAny(process.WaitForExitAsync(), Task.Delay(500));
            if (process.HasExited)
            {
                break;
            }

            if ((vm.StopWhenSerialShows is { } text && ReadShared(serial).Contains(text, StringComparison.Ordinal))
                || (vm.StopWhen is { } condition && await condition()))
            {
                // SIGTERM to our own child, `timeout`, which passes it on to QEMU (SIGKILL would orphan QEMU).
                await Tools.RunAsync("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(10));
                stopped = true;
                break;
            }
        }

        using (var grace = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
        {
            try
            {
                await process.WaitForExitAsync(grace.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }
        }

        var log = ReadShared(serial);
        var run = new VmRun(process.ExitCode, stopped, !stopped && process.ExitCode == 124, clock.Elapsed, log);
        _output.WriteLine($"{vm.Name} ({vm.Firmware}, {vm.Nic}): exit {run.ExitCode}{(stopped ? " (stopped by the test)" : "")} after {clock.Elapsed.TotalSeconds:F1} s {(await stderr).Trim()}");
        return run;
    }

    /// <summary>Writes the server log, the VMs' serial logs and the events into the test output (for failures).</summary>
    public void DumpLogs()
    {
        _output.WriteLine("---- server.log (tail) ----");
        _output.WriteLine(Tail(ReadLog("server.log"), 60));
        foreach (var vm in _vmLogs)
        {
            _output.WriteLine($"---- {vm} (tail) ----");
            _output.WriteLine(Tail(ReadLog(vm), 40));
        }
    }

    public async ValueTask DisposeAsync()
    {
        DumpLogs();
        if (_server is { HasExited: false })
        {
            _server.Kill(entireProcessTree: true);
            await _server.WaitForExitAsync();
        }

        _server?.Dispose();
        await Tools.RunAsync(LabScript, ["destroy", Name], TimeSpan.FromSeconds(60));
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // A VM's file still held by a process being torn down; the temp folder is cleaned by the OS.
        }
    }

    private string ReadLog(string file) => ReadShared(Path.Combine(_root, file));

    private static string ReadShared(string path)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            return new StreamReader(stream, Encoding.Latin1).ReadToEnd();
        }
        catch (FileNotFoundException)
        {
            return "";
        }
        catch (DirectoryNotFoundException)
        {
            return "";
        }
    }

    private static string Tail(string text, int lines) => string.Join('\n', text.Split('\n').TakeLast(lines));

    private static void Check(ProcessResult r, string what) => Assert.True(r.ExitCode == 0, $"{what} failed ({r.ExitCode}): {r.Output}");

    private static void CopyDirectory(string from, string to)
    {
        foreach (var dir in Directory.EnumerateDirectories(from, "*", SearchOption.AllDirectories))
        {
            Directory.CreateDirectory(Path.Combine(to, Path.GetRelativePath(from, dir)));
        }

        Directory.CreateDirectory(to);
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            File.Copy(file, Path.Combine(to, Path.GetRelativePath(from, file)));
        }
    }
}

/// <summary>The installer, built once per test run (the kernel package download is cached across runs).</summary>
internal static class SharedInstaller
{
    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static InstallerBuildResult? _built;

    public static async Task<InstallerBuildResult> GetAsync()
    {
        await Gate.WaitAsync();
        try
        {
            var cache = Path.Combine(Path.GetTempPath(), "pxe-lab-cache");
            return _built ??= await new InstallerBuilder(new Pxe.Images.Tools.ToolRunner()).BuildAsync(new InstallerBuildOptions
            {
                OutputDirectory = Path.Combine(cache, "installer-" + Environment.ProcessId),
                CacheDirectory = cache,
            });
        }
        finally
        {
            Gate.Release();
        }
    }
}
