using System.Net;
using System.Net.Http.Json;
using Pxe.Server.Tests.Support;

namespace Pxe.Server.Tests;

/// <summary>
/// The shipped first-boot hand-off end to end, against the real server on loopback: a machine installs (boot script,
/// kickstart, done), then the first-boot script cut out of its rendered kickstart runs here as the installed system
/// would run it (with Debian's ansible-pull and a local git repository, or with a stand-in client that fails), and its
/// report turns the machine Deployed or Failed with the log's last lines.
/// </summary>
public sealed class ShippedFirstBootTests : IAsyncLifetime
{
    private const string ScriptStart = "cat >/usr/local/sbin/pxe-firstboot <<'PXE_FIRSTBOOT' || pxe_setup_ok=no\n";

    private PxeTestServer _server = null!;
    private string _work = null!;

    private string Repository => Path.Combine(_server.Dirs.Root, "site-repo");

    public async Task InitializeAsync()
    {
        var dirs = TestDirs.Create();
        var repository = Path.Combine(dirs.Root, "site-repo");
        dirs.WriteSpec("fb-ansible.yaml", $"""
            kind: profile
            name: fb-ansible
            parent: rhel9-base
            variables:
              role: web
            handoff:
              client: ansible-pull
              repository: "file://{repository}"
              playbook: site.yml
              timeout: 5m
            """);
        dirs.WriteSpec("fb-failing.yaml", """
            kind: profile
            name: fb-failing
            parent: rhel9-base
            variables:
              role: web
            handoff:
              client: ansible-pull
              repository: https://git.example.net/ops/site.git
              playbook: site.yml
            """);
        var configured = Path.Combine(dirs.Root, "machine", "configured-by-shell");
        dirs.WriteSpec("fb-shell.yaml", $$"""
            kind: profile
            name: fb-shell
            parent: rhel9-base
            variables:
              role: web
            handoff:
              client: shell
              interpreter: /bin/bash
              timeout: 2m
              script: |
                # bash, not sh: ${PXE_ROLE^^} is bash-only
                echo "configuring $PXE_FQDN as ${PXE_ROLE^^}"
                printf 'role=%s\n' "$PXE_ROLE" >'{{configured}}'
                cat <<'EOF'
                %end
                PXE_FIRSTBOOT
                EOF
            """);
        dirs.WriteSpec("fb-shell-failing.yaml", """
            kind: profile
            name: fb-shell-failing
            parent: rhel9-base
            handoff:
              client: shell
              script: |
                i=1
                while [ $i -le 30 ]; do echo "site line $i"; i=$((i + 1)); done
                echo "site: the disk is not what the lab expects" >&2
                exit 3
                echo "never printed"
            """);
        _server = await PxeTestServer.StartAsync(dirs);
        _work = Path.Combine(dirs.Root, "machine");
        Directory.CreateDirectory(_work);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _server.Dirs.Dispose();
    }

    /// <summary>
    /// Installs <paramref name="mac"/> with <paramref name="profile"/> up to done; returns its token, its kickstart and the
    /// setup file a preseed would fetch beside it (install files are served only while the machine installs).
    /// </summary>
    private async Task<(string Token, string Kickstart, string Setup)> InstallAsync(string mac, string profile)
    {
        await _server.Http.PutAsJsonAsync($"/api/v1/machines/{mac}", new { profile, hostname = "fb-" + mac[^2..], domain = "example.net" }).EnsureOkAsync();
        var (_, token) = ProvisioningFlowTests.InstallUrl(ProvisioningFlowTests.Kernel(await _server.Http.GetStringAsync($"/boot/ipxe?mac={mac}")), _server.Url);
        var kickstart = await _server.Http.GetStringAsync($"/boot/{mac}/t/{token}/install");
        var setup = await _server.Http.GetStringAsync($"/boot/{mac}/t/{token}/firstboot-setup.sh");
        await _server.Http.PostAsync($"/boot/{mac}/t/{token}/done", null).EnsureOkAsync();
        Assert.Equal("Installed", await StateAsync(mac));
        return (token, kickstart, setup);
    }

    private async Task<string> StateAsync(string mac) =>
        (await (await _server.Http.GetAsync($"/api/v1/machines/{mac}")).JsonAsync())["state"]!.GetValue<string>();

    private async Task<string> FirstBootEventAsync(string mac)
    {
        await _server.FlushEventsAsync();
        var events = (await (await _server.Http.GetAsync($"/api/v1/events?mac={mac}&kind=firstboot")).JsonAsync()).AsArray();
        return Assert.Single(events)!["message"]!.GetValue<string>();
    }

    private static string FirstBootScript(string rendered)
    {
        var start = rendered.IndexOf(ScriptStart, StringComparison.Ordinal) + ScriptStart.Length;
        Assert.True(start >= ScriptStart.Length, "the install file does not write /usr/local/sbin/pxe-firstboot");
        return rendered[start..(rendered.IndexOf("\nPXE_FIRSTBOOT\n", start, StringComparison.Ordinal) + 1)];
    }

    /// <summary>
    /// Runs the first-boot script as the machine's pxe-firstboot.service would, with its log and state in a test folder,
    /// <paramref name="stubs"/> (name → shell script) first on the PATH, and systemctl recording what it was asked.
    /// </summary>
    private async Task<ProcessResult> RunFirstBootAsync(string script, Dictionary<string, string> stubs)
    {
        var bin = Path.Combine(_work, "bin");
        Directory.CreateDirectory(bin);
        stubs["systemctl"] = $"#!/bin/sh\necho \"$*\" >>'{Path.Combine(_work, "systemctl.log")}'\n";
        foreach (var (name, body) in stubs)
        {
            var file = Path.Combine(bin, name);
            await File.WriteAllTextAsync(file, body);
            File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        var scriptFile = Path.Combine(_work, "pxe-firstboot");
        await File.WriteAllTextAsync(scriptFile, script);
        return await Tools.RunAsync("env",
        [
            $"PATH={bin}:{Environment.GetEnvironmentVariable("PATH")}", $"HOME={_work}",
            $"PXE_FIRSTBOOT_LOG={Path.Combine(_work, "log", "pxe-firstboot.log")}", $"PXE_FIRSTBOOT_WORK={Path.Combine(_work, "state")}",
            "sh", scriptFile,
        ], TimeSpan.FromMinutes(4));
    }

    [ToolFact("ansible-pull=ansible-core", "git")]
    public async Task AnsiblePull_RunsThePlaybookOnce_AndTheMachineTurnsDeployed()
    {
        const string mac = "52:54:00:fb:00:01";
        var git = Tools.Require("git");
        Tools.Require("ansible-pull", "ansible-core");
        var marker = Path.Combine(_work, "configured-by-ansible");
        Directory.CreateDirectory(Repository);
        await File.WriteAllTextAsync(Path.Combine(Repository, "site.yml"), $$$"""
            - hosts: all
              connection: local
              gather_facts: false
              tasks:
                - name: the machine's role reaches the playbook
                  ansible.builtin.copy:
                    dest: "{{{marker}}}"
                    content: "role={{ pxe_role }}\n"
            """);
        foreach (var args in new[] { new[] { "init", "-q", "-b", "main" }, ["add", "site.yml"], ["-c", "user.name=ops", "-c", "user.email=ops@example.net", "commit", "-qm", "site"] })
        {
            var result = Tools.Run(git, args, TimeSpan.FromSeconds(30), Repository);
            Assert.True(result.ExitCode == 0, $"git {string.Join(' ', args)}: {result.Output}");
        }

        var (_, kickstart, _) = await InstallAsync(mac, "fb-ansible");
        var run = await RunFirstBootAsync(FirstBootScript(kickstart), []);

        Assert.True(run.ExitCode == 0, $"pxe-firstboot exited {run.ExitCode}: {run.Output}\n{await File.ReadAllTextAsync(Path.Combine(_work, "log", "pxe-firstboot.log"))}");
        Assert.Equal("role=web\n", await File.ReadAllTextAsync(marker));
        Assert.Equal("Deployed", await StateAsync(mac));
        var message = await FirstBootEventAsync(mac);
        Assert.StartsWith("firstboot ok: ansible-pull hand-off finished in ", message, StringComparison.Ordinal);
        Assert.Contains("ok=1", message, StringComparison.Ordinal);
        Assert.Equal("disable pxe-firstboot.service\n", await File.ReadAllTextAsync(Path.Combine(_work, "systemctl.log")));
        Assert.True(File.Exists(Path.Combine(_work, "state", "done")), "the done marker keeps the unit from running again");
    }

    [Fact]
    public async Task FailingClient_TurnsTheMachineFailed_WithTheLogsLastLinesIntact()
    {
        const string mac = "52:54:00:fb:00:02";
        const string last = "last: quote ' \"double\" & amp %41 pct + plus = eq é ü € ☃ $HOME `x`";
        var (_, kickstart, fetched) = await InstallAsync(mac, "fb-failing");
        var script = FirstBootScript(kickstart);

        var run = await RunFirstBootAsync(script, new Dictionary<string, string>
        {
            ["ansible-pull"] = "#!/bin/sh\ni=1\nwhile [ $i -le 30 ]; do echo \"stub line $i\"; i=$((i + 1)); done\n"
                + $"cat <<'EOF'\n{last}\nEOF\necho \"args: $*\"\nexit 3\n",
            ["git"] = "#!/bin/sh\nexit 0\n",
        });

        Assert.Equal(script, FirstBootScript(fetched));
        Assert.Equal(1, run.ExitCode);
        var machine = await (await _server.Http.GetAsync($"/api/v1/machines/{mac}")).JsonAsync();
        Assert.Equal("Failed", machine["state"]!.GetValue<string>());
        Assert.Equal("local", machine["boot_action"]!.GetValue<string>());
        var message = await FirstBootEventAsync(mac);
        Assert.StartsWith("firstboot failed: ansible-pull hand-off failed with exit status 3 after ", message, StringComparison.Ordinal);
        Assert.Contains(last, message, StringComparison.Ordinal);
        Assert.Contains("stub line 30 ", message, StringComparison.Ordinal);
        Assert.DoesNotContain("stub line 5 ", message, StringComparison.Ordinal);
        Assert.Contains("args: -U https://git.example.net/ops/site.git -C main -d ", message, StringComparison.Ordinal);
        Assert.Contains("-i localhost, -e {\"pxe_role\":\"web\"} site.yml", message, StringComparison.Ordinal);
    }

    [ToolFact("bash")]
    public async Task ShellScript_RunsOnceWithItsInterpreter_PrintsIntoTheLog_AndTheMachineTurnsDeployed()
    {
        const string mac = "52:54:00:fb:00:05";
        var (_, kickstart, fetched) = await InstallAsync(mac, "fb-shell");
        var script = FirstBootScript(kickstart);

        var run = await RunFirstBootAsync(script, []);

        var log = await File.ReadAllTextAsync(Path.Combine(_work, "log", "pxe-firstboot.log"));
        Assert.True(run.ExitCode == 0, $"pxe-firstboot exited {run.ExitCode}: {run.Output}\n{log}");
        Assert.Equal(script, FirstBootScript(fetched));
        Assert.Equal("role=web\n", await File.ReadAllTextAsync(Path.Combine(_work, "configured-by-shell")));
        Assert.True(log.Contains("configuring fb-05.example.net as WEB\n%end\nPXE_FIRSTBOOT\n", StringComparison.Ordinal), log);
        Assert.Equal("Deployed", await StateAsync(mac));
        var message = await FirstBootEventAsync(mac);
        Assert.StartsWith("firstboot ok: shell hand-off finished in ", message, StringComparison.Ordinal);
        Assert.Contains("configuring fb-05.example.net as WEB", message, StringComparison.Ordinal);
        Assert.Equal("disable pxe-firstboot.service\n", await File.ReadAllTextAsync(Path.Combine(_work, "systemctl.log")));
        Assert.True(File.Exists(Path.Combine(_work, "state", "done")), "the done marker keeps the unit from running again");
    }

    [Fact]
    public async Task ShellScript_ExitingWith3_TurnsTheMachineFailed_WithTheLogsLastLines()
    {
        const string mac = "52:54:00:fb:00:06";
        var (_, kickstart, _) = await InstallAsync(mac, "fb-shell-failing");

        var run = await RunFirstBootAsync(FirstBootScript(kickstart), []);

        Assert.Equal(1, run.ExitCode);
        Assert.Equal("Failed", await StateAsync(mac));
        var message = await FirstBootEventAsync(mac);
        Assert.StartsWith("firstboot failed: shell hand-off failed with exit status 3 after ", message, StringComparison.Ordinal);
        Assert.Contains("site line 30 site: the disk is not what the lab expects", message, StringComparison.Ordinal);
        Assert.DoesNotContain("site line 5 ", message, StringComparison.Ordinal);
        Assert.DoesNotContain("never printed", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NoClient_ReportsOk_AndTheMachineTurnsDeployed_OnlyOnce()
    {
        const string mac = "52:54:00:fb:00:03";
        var (token, kickstart, _) = await InstallAsync(mac, "web");

        var run = await RunFirstBootAsync(FirstBootScript(kickstart), []);
        var again = await _server.Http.PostAsync($"/boot/{mac}/t/{token}/events", new FormUrlEncodedContent(
            new Dictionary<string, string> { ["stage"] = "firstboot", ["status"] = "ok" }));

        Assert.True(run.ExitCode == 0, run.Output);
        Assert.Equal("Deployed", await StateAsync(mac));
        Assert.StartsWith("firstboot ok: none hand-off finished in ", await FirstBootEventAsync(mac), StringComparison.Ordinal);
        Assert.NotEqual(HttpStatusCode.OK, again.StatusCode);
        Assert.Contains("reported ok to PxeServer", run.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReportThatTheServerRefuses_IsNotRetried_AndTheScriptSaysSo()
    {
        const string mac = "52:54:00:fb:00:04";
        var (_, kickstart, _) = await InstallAsync(mac, "web");
        (await _server.Http.PostAsync($"/api/v1/machines/{mac}/reimage", null)).EnsureSuccessStatusCode();

        var started = DateTime.UtcNow;
        var run = await RunFirstBootAsync(FirstBootScript(kickstart), []);

        Assert.Equal(0, run.ExitCode);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(25), "a 4xx answer must not be retried");
        Assert.Contains("could not report ok to PxeServer", run.Stdout, StringComparison.Ordinal);
        Assert.Equal("Ready", await StateAsync(mac));
    }
}
