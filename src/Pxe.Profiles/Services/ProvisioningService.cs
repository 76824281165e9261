using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Pxe.Profiles.Domain;
using Pxe.Profiles.Rendering;
using Pxe.Profiles.Spec;
using Pxe.Profiles.Storage;

namespace Pxe.Profiles.Services;

/// <summary>What happens when a MAC we do not know asks to boot.</summary>
public sealed record DiscoveryPolicy
{
    /// <summary>Record unknown MACs as Discovered machines (with an event). Default: true.</summary>
    public bool RecordUnknown { get; init; } = true;

    /// <summary>Profile an unknown machine boots (a discovery or inventory image); null boots it from its local disk.</summary>
    public string? DefaultProfile { get; init; }
}

/// <summary>The result of an operation on a machine: the machine, or why not (and whether it was "not found").</summary>
public sealed record MachineResult(
    Machine? Machine, string? Error, bool NotFound = false, IReadOnlyList<(string Field, string Message)>? Errors = null, bool Forbidden = false)
{
    /// <summary>True on success.</summary>
    public bool Succeeded => Machine is not null;

    internal static MachineResult Missing(MacAddress mac) =>
        new(null, $"no machine has MAC {mac}; create it with PUT /api/v1/machines/{mac}", NotFound: true);
}

/// <summary>An install file as served: its UTF-8 bytes, or why not (<see cref="Failure"/>, as <see cref="RenderOutcome"/> tells it).</summary>
public sealed record InstallFileOutcome(byte[]? Utf8, RenderOutcome? Failure)
{
    /// <summary>True when <see cref="Utf8"/> holds the file.</summary>
    public bool Succeeded => Utf8 is not null;
}

/// <summary>
/// The machine lifecycle as the boot endpoints and the API drive it: assigning profiles, serving boot scripts
/// (which starts an install with a fresh per-install token), install files, done and progress callbacks, re-imaging.
/// Every state change is stored together with its event. With an <see cref="InstallFileCache"/>, install files
/// fetched again with unchanged inputs are not rendered again (every check still runs on every request).
/// </summary>
public sealed class ProvisioningService(
    IMachineStore machines, EventLog events, SpecService spec, DiscoveryPolicy discovery, TimeProvider clock, InstallFileCache? installFiles = null)
{
    /// <summary>
    /// How long after done the install token still works for progress and first-boot reports (the installed system
    /// reports <c>firstboot</c> with it). A day covers a slow first boot and a weekend-delayed power-on is a re-image.
    /// </summary>
    public static readonly TimeSpan FirstBootReportWindow = TimeSpan.FromHours(24);

    /// <summary>Tokens that matched an install session's hash, by session object (see <see cref="TokenMatches"/>).</summary>
    private readonly ConditionalWeakTable<InstallSession, string> _matchedTokens = new();

    /// <summary>The spec this service renders from.</summary>
    public SpecService Spec => spec;

    /// <summary>Whether unknown MACs are recorded as Discovered machines (<see cref="DiscoveryPolicy.RecordUnknown"/>).</summary>
    public bool RecordsUnknownMachines => discovery.RecordUnknown;

    /// <summary>Finds a machine by any of its MACs.</summary>
    public Task<Machine?> FindAsync(MacAddress mac, CancellationToken ct) => machines.FindByMacAsync(mac, ct);

    /// <summary>
    /// Records a MAC seen by another service (a DHCP request) as Discovered, once, when the policy says so; a known MAC
    /// is left alone. Returns whether a machine was created.
    /// </summary>
    public async Task<bool> RecordDiscoveredAsync(MacAddress mac, string how, CancellationToken ct)
    {
        if (!discovery.RecordUnknown || await machines.FindByMacAsync(mac, ct) is not null)
        {
            return false;
        }

        try
        {
            await machines.SaveMachineAsync(new Machine { Macs = [mac], State = MachineState.Discovered, BootAction = BootAction.Local },
                Event(mac, EventKinds.Discovered, $"unknown MAC {mac} seen: {Clean(how, 300)}; recorded as Discovered", "machine"), ct);
            return true;
        }
        catch (StoreConflictException)
        {
            return false;
        }
    }

    /// <summary>Posts an observational event about a machine (a DHCP lease, a TFTP transfer) to the batched log.</summary>
    public void Observe(MacAddress mac, string kind, string message) => events.Post(Event(mac, kind, Clean(message, 1000), "machine"));

    /// <summary>Creates a machine or changes it (PUT semantics: given fields replace, missing fields keep).</summary>
    public async Task<MachineResult> PutAsync(MacAddress mac, MachineInput input, string actor, CancellationToken ct)
    {
        var existing = await machines.FindByMacAsync(mac, ct);
        var (machine, errors) = input.Apply(mac, existing, spec.Current.Spec);
        if (machine is null)
        {
            return new MachineResult(null, "the machine is not valid", Errors: errors);
        }

        // Assigning a profile to a Discovered machine makes it Ready to install.
        if (input.Profile is { Length: > 0 } && machine.State == MachineState.Discovered)
        {
            machine = machine with { State = MachineState.Ready, BootAction = input.BootAction is null ? BootAction.Install : machine.BootAction };
        }
        else if (existing is null && machine.Profile is not null)
        {
            machine = machine with { State = MachineState.Ready };
        }

        var saved = await machines.SaveMachineAsync(machine, Event(mac, EventKinds.MachineChanged,
            existing is null ? $"machine created{Describe(machine)}" : $"machine changed{Describe(machine)}", actor), ct);
        return new MachineResult(saved, null);
    }

    /// <summary>Imports many machines in one transaction; all are validated first and nothing is stored if one is wrong.</summary>
    public async Task<(IReadOnlyList<Machine>? Machines, IReadOnlyList<string> Errors)> ImportAsync(
        IReadOnlyList<(string Mac, MachineInput Input)> items, string actor, CancellationToken ct)
    {
        var errors = new List<string>();
        var list = new List<Machine>();
        var seen = new HashSet<MacAddress>();
        for (var i = 0; i < items.Count; i++)
        {
            var (macText, input) = items[i];
            if (!MacAddress.TryParse(macText, out var mac, out var macError))
            {
                errors.Add($"item {i + 1}: mac: {macError}");
                continue;
            }

            if (!seen.Add(mac))
            {
                errors.Add($"item {i + 1}: mac: {mac} appears twice in the import");
                continue;
            }

            var (machine, problems) = input.Apply(mac, null, spec.Current.Spec);
            errors.AddRange(problems.Select(p => $"item {i + 1} ({mac}): {p.Field}: {p.Message}"));
            if (machine is not null)
            {
                // Like PUT: a machine given a profile is Ready and installs at its next boot unless the import says otherwise.
                list.Add(machine.Profile is null ? machine : machine with
                {
                    State = MachineState.Ready,
                    BootAction = input.BootAction is null ? BootAction.Install : machine.BootAction,
                });
            }
        }

        if (errors.Count > 0)
        {
            return (null, errors);
        }

        try
        {
            return (await machines.ImportMachinesAsync(list, actor, ct), []);
        }
        catch (StoreConflictException e)
        {
            return (null, [e.Message]);
        }
    }

    /// <summary>Deletes a machine.</summary>
    public Task<bool> DeleteAsync(MacAddress mac, string actor, CancellationToken ct) =>
        machines.DeleteMachineAsync(mac, Event(mac, EventKinds.MachineDeleted, "machine deleted", actor), ct);

    /// <summary>Flips a machine back to install: its next network boot re-installs it.</summary>
    public Task<MachineResult> ReimageAsync(MacAddress mac, string actor, CancellationToken ct) =>
        TransitionAsync(mac, LifecycleTrigger.Reimage, actor, m =>
        {
            if (m.Profile is null)
            {
                return (null, $"machine {mac} has no profile to install; assign one with PUT /api/v1/machines/{mac}");
            }

            return (m with { BootAction = BootAction.Install, Install = null }, "re-image requested: the next network boot installs " + m.Profile);
        }, EventKinds.Reimage, ct);

    /// <summary>The installer finished: state Installed, and the next boot is from disk (boot once).</summary>
    public Task<MachineResult> DoneAsync(MacAddress mac, string? token, CancellationToken ct) =>
        TransitionAsync(mac, LifecycleTrigger.InstallDone, "machine", m =>
            (m with { BootAction = BootAction.Local, Install = m.Install! with { Deadline = clock.GetUtcNow() + FirstBootReportWindow } },
                $"install finished after {(clock.GetUtcNow() - m.Install!.Started).TotalSeconds:F1} s; next boot is from disk"),
            EventKinds.Done, ct, m => CheckToken(m, token));

    /// <summary>
    /// A progress or first-boot report from the machine. <c>firstboot</c> with status <c>ok</c> makes it Deployed;
    /// status <c>failed</c> (during install or first boot) makes it Failed. Anything else is recorded as progress.
    /// </summary>
    public async Task<MachineResult> ReportAsync(MacAddress mac, string? token, string stage, string? status, string? message, CancellationToken ct)
    {
        var text = Clean($"{stage}{(status is null ? "" : " " + status)}{(string.IsNullOrEmpty(message) ? "" : ": " + message)}", 1000);
        var kind = stage == "firstboot" ? EventKinds.FirstBoot : EventKinds.Progress;
        if (stage == "firstboot" && status is "ok" or "success")
        {
            return await TransitionAsync(mac, LifecycleTrigger.FirstBootSucceeded, "machine", m => (m with { Install = null }, text), kind, ct,
                m => CheckToken(m, token));
        }

        if (status is "failed" or "error")
        {
            return await TransitionAsync(mac, LifecycleTrigger.Fail, "machine", m => (m with { BootAction = BootAction.Local, Install = null }, text), kind, ct,
                m => CheckToken(m, token));
        }

        var machine = await machines.FindByMacAsync(mac, ct);
        if (machine is null)
        {
            return MachineResult.Missing(mac);
        }

        if (CheckToken(machine, token) is not null && await machines.FindByMacUncachedAsync(mac, ct) is { } fresh)
        {
            machine = fresh;
        }

        if (CheckToken(machine, token) is { } problem)
        {
            Deny(mac, $"report '{Clean(stage, 40)}' refused: {problem}");
            return new MachineResult(null, problem, Forbidden: true);
        }

        events.Post(Event(mac, kind, text, "machine"));
        return new MachineResult(machine, null);
    }

    /// <summary>
    /// What a booting machine gets from its boot loader: records unknown MACs, and when the machine is to install,
    /// starts an install session (fresh token, deadline) and renders the installer's boot config; otherwise local boot.
    /// </summary>
    public Task<RenderOutcome> BootAsync(MacAddress mac, BootFileKind kind, CancellationToken ct) => BootAsync(mac, kind, 0, ct);

    private async Task<RenderOutcome> BootAsync(MacAddress mac, BootFileKind kind, int retry, CancellationToken ct)
    {
        await spec.EnsureFreshAsync(ct);
        var state = spec.Current;
        var machine = await machines.FindByMacAsync(mac, ct);
        if (machine is null)
        {
            return await BootUnknownAsync(mac, kind, state, retry, ct);
        }

        if (machine.BootAction != BootAction.Install || machine.Profile is null)
        {
            events.Post(Event(mac, EventKinds.BootServed, $"{Name(kind)} served: boot from local disk", "machine"));
            return RenderLocal(state, kind, machine, mac);
        }

        var (profile, error) = state.Resolve(machine.Profile);
        if (profile is null)
        {
            return Failed(mac, $"machine {mac}: {error}");
        }

        var next = MachineLifecycle.Next(machine.State, LifecycleTrigger.InstallStarted);
        if (next is null)
        {
            // Installed/Deployed/Failed machines set to install by hand (boot_action) without a re-image.
            next = MachineState.Installing;
        }

        var token = NewToken();
        var now = clock.GetUtcNow();
        // Firmware retrying a boot, or the retry policy after a timeout, continues the count; a re-image starts it afresh.
        var attempt = machine.State is MachineState.Installing or MachineState.Failed ? (machine.Install?.Attempt ?? 0) + 1 : 1;
        var installing = machine with
        {
            State = next.Value,
            Install = new InstallSession
            {
                TokenHash = Hash(token),
                Started = now,
                Deadline = now + profile.InstallTimeout.Value,
                Attempt = attempt,
            },
        };
        var rendered = state.Renderer.RenderBoot(kind, installing, profile, mac, token);
        if (!rendered.Succeeded)
        {
            return Failed(mac, rendered.Error!);
        }

        try
        {
            await machines.SaveMachineAsync(installing, Event(mac, EventKinds.StateChanged,
                $"{Name(kind)} served: installing profile {profile.Name} ({profile.Distro.Name}), attempt {attempt}; state {machine.State} -> {next}", "machine"), ct);
        }
        catch (StoreConflictException)
        {
            // Two boots of the same machine raced (firmware retries): the other one won; serve its view.
            return retry < 5 ? await BootAsync(mac, kind, retry + 1, ct) : Failed(mac, $"machine {mac} keeps changing concurrently; the firmware will retry");
        }

        return rendered;
    }

    private async Task<RenderOutcome> BootUnknownAsync(MacAddress mac, BootFileKind kind, SpecState state, int retry, CancellationToken ct)
    {
        var machine = new Machine { Macs = [mac], State = MachineState.Discovered, BootAction = BootAction.Local };
        if (discovery.RecordUnknown)
        {
            try
            {
                machine = await machines.SaveMachineAsync(machine, Event(mac, EventKinds.Discovered, $"unknown MAC {mac} asked for its {Name(kind)}; recorded as Discovered", "machine"), ct);
            }
            catch (StoreConflictException)
            {
                machine = await machines.FindByMacAsync(mac, ct) ?? machine;
            }
        }

        if (discovery.DefaultProfile is { } name && machine.Id != 0)
        {
            var (profile, error) = state.Resolve(name);
            if (profile is null)
            {
                return Failed(mac, $"the default profile for unknown machines is broken: {error}");
            }

            // The discovery boot gets its own install session, so its install files need a token like any other.
            var token = NewToken();
            var now = clock.GetUtcNow();
            var session = machine with
            {
                Install = new InstallSession { TokenHash = Hash(token), Started = now, Deadline = now + profile.InstallTimeout.Value },
            };
            var rendered = state.Renderer.RenderBoot(kind, session with { BootAction = BootAction.Install, Profile = name }, profile, mac, token);
            if (!rendered.Succeeded)
            {
                return Failed(mac, rendered.Error!);
            }

            try
            {
                await machines.SaveMachineAsync(session, null, ct);
            }
            catch (StoreConflictException)
            {
                return retry < 5 ? await BootAsync(mac, kind, retry + 1, ct) : Failed(mac, $"machine {mac} keeps changing concurrently; the firmware will retry");
            }

            return rendered;
        }

        return RenderLocal(state, kind, machine, mac);
    }

    /// <summary>
    /// The local-boot file of a machine, with its profile when it has one that resolves (boot templates name it in
    /// their header); booting from disk never fails for want of a profile.
    /// </summary>
    private static RenderOutcome RenderLocal(SpecState state, BootFileKind kind, Machine machine, MacAddress mac)
    {
        var profile = machine.Profile is null ? null : state.Resolve(machine.Profile).Profile;
        return state.Renderer.RenderBoot(kind, machine with { BootAction = BootAction.Local }, profile, mac, null);
    }

    /// <summary>Renders one of the machine's install files (<c>install</c>, or a sub-file such as <c>user-data</c>).</summary>
    public async Task<RenderOutcome> InstallFileAsync(MacAddress mac, string file, string? token, CancellationToken ct)
    {
        var outcome = await InstallFileUtf8Async(mac, file, token, ct);
        return outcome.Failure ?? new RenderOutcome(Encoding.UTF8.GetString(outcome.Utf8!), null);
    }

    /// <summary>
    /// <see cref="InstallFileAsync"/> as the HTTP route sends it: the file's UTF-8 bytes, from the install file cache
    /// when one is configured and nothing the file depends on changed. Callers must not change the bytes.
    /// </summary>
    public async Task<InstallFileOutcome> InstallFileUtf8Async(MacAddress mac, string file, string? token, CancellationToken ct)
    {
        await spec.EnsureFreshAsync(ct);
        var state = spec.Current;
        var machine = await machines.FindByMacAsync(mac, ct);
        if (machine is null)
        {
            return NotServed(new RenderOutcome(null, $"no machine has MAC {mac}", NotFound: true));
        }

        var profileName = machine.Profile ?? discovery.DefaultProfile;
        if (profileName is null)
        {
            return NotServed(new RenderOutcome(null, $"machine {mac} has no profile; assign one with PUT /api/v1/machines/{mac}", NotFound: true));
        }

        // Install files hold password hashes and hand-off credentials: only the running install, with its token, gets them.
        var refusal = InstallFileRefusal(machine, token);
        if (refusal is not null && await machines.FindByMacUncachedAsync(mac, ct) is { } fresh)
        {
            // Never refuse on a cached view: the install may have started a moment ago (on another server).
            machine = fresh;
            refusal = InstallFileRefusal(machine, token);
        }

        if (refusal is not null)
        {
            Deny(mac, $"install file '{Clean(file, 64)}' refused: {refusal}");
            return NotServed(new RenderOutcome(null, refusal, Forbidden: true));
        }

        var (profile, error) = state.Resolve(profileName);
        if (profile is null)
        {
            return NotServed(Failed(mac, $"machine {mac}: {error}"));
        }

        // Only now, with the install and its token checked, may a file come from the cache.
        var inputs = new InstallFileInputs(state, machine, profileName, mac, file, token ?? "");
        var utf8 = installFiles?.Find(inputs, state.Renderer.Settings.Images);
        if (utf8 is null)
        {
            var rendered = state.Renderer.RenderInstallFile(machine, profile, file, mac, token ?? "", out var image);
            if (!rendered.Succeeded)
            {
                if (!rendered.NotFound)
                {
                    events.Post(Event(mac, EventKinds.RenderFailed, $"install file '{file}': {rendered.Error}", "machine"));
                }

                return NotServed(rendered);
            }

            utf8 = Encoding.UTF8.GetBytes(rendered.Text!);
            installFiles?.Add(inputs, image, utf8);
        }

        events.Post(Event(mac, EventKinds.InstallServed, $"install file '{file}' served ({profile.InstallTemplate?.Value})", "machine"));
        return new InstallFileOutcome(utf8, null);
    }

    private static InstallFileOutcome NotServed(RenderOutcome failure) => new(null, failure);

    /// <summary>Renders any file of a machine for preview (API): <c>ipxe</c>, <c>pxelinux</c>, <c>grub</c>, <c>install</c> or a sub-file.</summary>
    public Task<RenderOutcome> PreviewAsync(MacAddress mac, string file, CancellationToken ct) => PreviewAsync(mac, file, null, ct);

    /// <summary>
    /// Renders a file for preview without changing anything. With <paramref name="profileName"/>, renders that profile
    /// (as an install) for the stored machine, or for a preview machine with only this MAC when none is stored;
    /// without it, renders the stored machine as it is.
    /// </summary>
    public async Task<RenderOutcome> PreviewAsync(MacAddress mac, string file, string? profileName, CancellationToken ct)
    {
        var state = spec.Current;
        var machine = await machines.FindByMacAsync(mac, ct);
        if (profileName is not null)
        {
            if (!state.Spec.Profiles.ContainsKey(profileName))
            {
                var known = state.Spec.Profiles.Keys.Order(StringComparer.Ordinal);
                return new RenderOutcome(null, $"profile '{profileName}' does not exist; known profiles: {string.Join(", ", known)}", NotFound: true);
            }

            machine = (machine ?? new Machine { Macs = [mac] }) with { Profile = profileName, BootAction = BootAction.Install };
        }

        if (machine is null)
        {
            return new RenderOutcome(null, $"no machine has MAC {mac}", NotFound: true);
        }

        ResolvedProfile? profile = null;
        if (machine.Profile is not null)
        {
            (profile, var error) = state.Resolve(machine.Profile);
            if (profile is null)
            {
                return new RenderOutcome(null, $"machine {mac}: {error}");
            }
        }

        const string PreviewToken = "preview-token";
        BootFileKind? kind = file switch
        {
            "ipxe" => BootFileKind.Ipxe,
            "pxelinux" => BootFileKind.Pxelinux,
            "grub" => BootFileKind.Grub,
            _ => null,
        };
        if (kind is { } k)
        {
            return machine.BootAction == BootAction.Install && profile is not null ? state.Renderer.RenderBoot(k, machine, profile, mac, PreviewToken) : RenderLocal(state, k, machine, mac);
        }

        return profile is null
            ? new RenderOutcome(null, $"machine {mac} has no profile, so it has no install files", NotFound: true)
            : state.Renderer.RenderInstallFile(machine, profile, file, mac, PreviewToken);
    }

    /// <summary>Every variable the machine's templates see, with its source.</summary>
    public async Task<(IReadOnlyDictionary<string, Sourced<object?>>? Variables, string? Error, bool NotFound)> VariablesAsync(MacAddress mac, CancellationToken ct)
    {
        var state = spec.Current;
        var machine = await machines.FindByMacAsync(mac, ct);
        if (machine is null)
        {
            return (null, $"no machine has MAC {mac}", true);
        }

        ResolvedProfile? profile = null;
        if (machine.Profile is not null)
        {
            (profile, var error) = state.Resolve(machine.Profile);
            if (profile is null)
            {
                return (null, error, false);
            }
        }

        var variables = state.Renderer.Variables(machine, profile, mac, "PER-INSTALL-TOKEN");
        if (profile is not null)
        {
            try
            {
                variables["kernel_args"] = new(state.Renderer.KernelArgs(machine, profile, variables), "resolved");
                variables["kernel_cmdline"] = new(state.Renderer.KernelArgs(machine, profile, variables, withInitrd: false), "resolved");
            }
            catch (KernelCommandLineException e)
            {
                return (null, e.Message, false);
            }
        }

        return (variables, null, false);
    }

    /// <summary>
    /// Marks installs that passed their deadline as Failed (run periodically by the host). The profile's
    /// <c>install_retries</c> decides what the next boot does: install again while retries are left (the machine keeps
    /// its attempt count), else boot from disk.
    /// </summary>
    public async Task<int> ExpireInstallsAsync(CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var expired = 0;
        var installing = await machines.ListMachinesAsync(new MachineQuery { State = MachineState.Installing, Limit = 100_000 }, ct);
        foreach (var m in installing.Where(m => m.Install is { } s && s.Deadline <= now))
        {
            var retries = m.Profile is { } name && spec.Current.Resolve(name).Profile is { } p ? p.InstallRetries.Value : 0;
            var result = await TransitionAsync(m.PrimaryMac, LifecycleTrigger.Fail, "timer", x =>
            {
                if (x.Install is not { } s || s.Deadline > now)
                {
                    return (null, "the install finished meanwhile");
                }

                var message = $"install did not call done within its deadline ({s.Deadline:u}); attempt {s.Attempt}";
                return s.Attempt <= retries
                    // The expired session stays only as the attempt count: its token no longer matches anything.
                    ? (x with { BootAction = BootAction.Install, Install = s with { TokenHash = "", Deadline = now } },
                        $"{message}; the next network boot installs again (retry {s.Attempt} of {retries})")
                    : (x with { BootAction = BootAction.Local, Install = null },
                        $"{message}; {(retries == 0 ? "" : $"no retries left of {retries}; ")}the next boot is from disk");
            }, EventKinds.StateChanged, ct);
            if (result.Succeeded)
            {
                expired++;
            }
        }

        return expired;
    }

    private async Task<MachineResult> TransitionAsync(
        MacAddress mac, LifecycleTrigger trigger, string actor, Func<Machine, (Machine? Next, string Message)> change, string kind, CancellationToken ct,
        Func<Machine, string?>? authorize = null)
    {
        for (var attempt = 0; attempt < 5; attempt++)
        {
            var machine = await machines.FindByMacAsync(mac, ct);
            if (machine is null)
            {
                return MachineResult.Missing(mac);
            }

            if (authorize?.Invoke(machine) is not null)
            {
                machine = await machines.FindByMacUncachedAsync(mac, ct) ?? machine;
            }

            if (authorize?.Invoke(machine) is { } refusal)
            {
                Deny(mac, $"{kind} refused: {refusal}");
                return new MachineResult(null, refusal, Forbidden: true);
            }

            var next = MachineLifecycle.Next(machine.State, trigger);
            if (next is null)
            {
                return new MachineResult(null, $"machine {mac}: {MachineLifecycle.Refusal(machine.State, trigger)}");
            }

            var (changed, message) = change(machine);
            if (changed is null)
            {
                return new MachineResult(null, message);
            }

            var from = machine.State;
            changed = changed with { State = next.Value };
            try
            {
                // Progress reports are queued; store them first so the log shows "install-done" before "done".
                await events.FlushAsync(ct);
                var saved = await machines.SaveMachineAsync(changed, Event(mac, kind, $"{message}; state {from} -> {next}", actor), ct);
                return new MachineResult(saved, null);
            }
            catch (StoreConflictException) when (attempt < 4)
            {
                // Changed concurrently: read it again and re-decide.
            }
        }

        return new MachineResult(null, $"machine {mac} keeps changing concurrently; retry");
    }

    private string? InstallFileRefusal(Machine machine, string? token) =>
        machine.State is MachineState.Installing or MachineState.Discovered
            ? CheckToken(machine, token)
            : $"machine {machine.PrimaryMac} is {machine.State}, not installing; install files are served only during an install";

    private void Deny(MacAddress mac, string message) => events.Post(Event(mac, EventKinds.AccessDenied, message, "machine"));

    private RenderOutcome Failed(MacAddress mac, string error)
    {
        events.Post(Event(mac, EventKinds.RenderFailed, error, "machine"));
        return new RenderOutcome(null, error);
    }

    private string? CheckToken(Machine m, string? token)
    {
        if (m.Install is null)
        {
            return $"machine {m.PrimaryMac} has no install running";
        }

        if (m.Install.Deadline <= clock.GetUtcNow())
        {
            return $"the install token of {m.PrimaryMac} expired at {m.Install.Deadline:u}";
        }

        if (token is null || !TokenMatches(m.Install, token))
        {
            return $"the install token does not match the running install of {m.PrimaryMac}";
        }

        return null;
    }

    /// <summary>
    /// Whether <paramref name="token"/> is the token of <paramref name="session"/>: its SHA-256 equals the stored hash.
    /// A token that matched once is remembered for that session object (the machine cache hands out the same object
    /// until the machine changes, and a new install is a new session), so an installer fetching again is compared in
    /// constant time against what matched instead of being hashed again.
    /// </summary>
    private bool TokenMatches(InstallSession session, string token)
    {
        if (_matchedTokens.TryGetValue(session, out var matched))
        {
            return CryptographicOperations.FixedTimeEquals(MemoryMarshal.AsBytes(matched.AsSpan()), MemoryMarshal.AsBytes(token.AsSpan()));
        }

        if (token.Length > MaxTokenChars)
        {
            return false;
        }

        Span<byte> utf8 = stackalloc byte[MaxTokenChars * 3];
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        Span<byte> stored = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(utf8[..Encoding.UTF8.GetBytes(token, utf8)], digest);
        if (Convert.FromHexString(session.TokenHash, stored, out _, out var written) != OperationStatus.Done
            || written != stored.Length || !CryptographicOperations.FixedTimeEquals(digest, stored))
        {
            return false;
        }

        _matchedTokens.AddOrUpdate(session, token);
        return true;
    }

    /// <summary>The longest token compared: ours are 43 characters; anything past this cannot be one.</summary>
    private const int MaxTokenChars = 128;

    /// <summary>A fresh per-install token: 256 random bits, URL-safe.</summary>
    public static string NewToken() =>
        Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>The stored form of a token (SHA-256, hex).</summary>
    public static string Hash(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    private MachineEvent Event(MacAddress mac, string kind, string message, string actor) =>
        new() { Time = clock.GetUtcNow(), Mac = mac, Kind = kind, Message = message, Actor = actor };

    private static string Name(BootFileKind kind) => kind switch
    {
        BootFileKind.Ipxe => "iPXE script",
        BootFileKind.Pxelinux => "pxelinux config",
        _ => "GRUB config",
    };

    private static string Describe(Machine m) =>
        $" (profile {m.Profile ?? "none"}, boot {m.BootAction.ToString().ToLowerInvariant()}, state {m.State})";

    private static string Clean(string text, int max)
    {
        var s = new string(text.Select(c => char.IsControl(c) ? ' ' : c).ToArray());
        return s.Length <= max ? s : s[..max] + "…";
    }
}
