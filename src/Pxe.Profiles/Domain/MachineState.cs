namespace Pxe.Profiles.Domain;

/// <summary>Where a machine is in its life.</summary>
public enum MachineState
{
    /// <summary>It asked to boot and we recorded its MAC; nothing is assigned yet.</summary>
    Discovered,

    /// <summary>A profile is assigned and its next network boot installs.</summary>
    Ready,

    /// <summary>The boot script for its install was served; the installer is running.</summary>
    Installing,

    /// <summary>The installer called done; its next boot is from disk.</summary>
    Installed,

    /// <summary>First boot handed it to its configuration client, which reported success.</summary>
    Deployed,

    /// <summary>The install or the first boot failed, or the install timed out.</summary>
    Failed,
}

/// <summary>Why a state changes; each trigger is allowed from some states only.</summary>
public enum LifecycleTrigger
{
    /// <summary>A profile was assigned (API).</summary>
    Assign,

    /// <summary>The install boot script was served.</summary>
    InstallStarted,

    /// <summary>The installer called done.</summary>
    InstallDone,

    /// <summary>The first-boot hand-off reported success.</summary>
    FirstBootSucceeded,

    /// <summary>The installer or first boot reported failure, or the install timed out.</summary>
    Fail,

    /// <summary>An operator asked for a re-install.</summary>
    Reimage,
}

/// <summary>The machine lifecycle: every allowed transition in one table.</summary>
public static class MachineLifecycle
{
    private static readonly Dictionary<(MachineState From, LifecycleTrigger Trigger), MachineState> Transitions = new()
    {
        [(MachineState.Discovered, LifecycleTrigger.Assign)] = MachineState.Ready,
        [(MachineState.Ready, LifecycleTrigger.Assign)] = MachineState.Ready,
        [(MachineState.Installed, LifecycleTrigger.Assign)] = MachineState.Installed,
        [(MachineState.Deployed, LifecycleTrigger.Assign)] = MachineState.Deployed,
        [(MachineState.Failed, LifecycleTrigger.Assign)] = MachineState.Failed,
        [(MachineState.Installing, LifecycleTrigger.Assign)] = MachineState.Installing,

        [(MachineState.Ready, LifecycleTrigger.InstallStarted)] = MachineState.Installing,
        // The machine network-booted again while installing (a reset, a retry): a fresh install session.
        [(MachineState.Installing, LifecycleTrigger.InstallStarted)] = MachineState.Installing,

        [(MachineState.Installing, LifecycleTrigger.InstallDone)] = MachineState.Installed,

        [(MachineState.Installed, LifecycleTrigger.FirstBootSucceeded)] = MachineState.Deployed,

        [(MachineState.Installing, LifecycleTrigger.Fail)] = MachineState.Failed,
        [(MachineState.Installed, LifecycleTrigger.Fail)] = MachineState.Failed,

        [(MachineState.Ready, LifecycleTrigger.Reimage)] = MachineState.Ready,
        [(MachineState.Installing, LifecycleTrigger.Reimage)] = MachineState.Ready,
        [(MachineState.Installed, LifecycleTrigger.Reimage)] = MachineState.Ready,
        [(MachineState.Deployed, LifecycleTrigger.Reimage)] = MachineState.Ready,
        [(MachineState.Failed, LifecycleTrigger.Reimage)] = MachineState.Ready,
    };

    /// <summary>The state after <paramref name="trigger"/>, or null when the transition is not allowed.</summary>
    public static MachineState? Next(MachineState from, LifecycleTrigger trigger) =>
        Transitions.TryGetValue((from, trigger), out var to) ? to : null;

    /// <summary>Every allowed transition (for documentation and the API).</summary>
    public static IEnumerable<(MachineState From, LifecycleTrigger Trigger, MachineState To)> All =>
        Transitions.Select(t => (t.Key.From, t.Key.Trigger, t.Value));

    /// <summary>A message for a refused transition that says what is allowed instead.</summary>
    public static string Refusal(MachineState from, LifecycleTrigger trigger)
    {
        var allowedFrom = Transitions.Keys.Where(k => k.Trigger == trigger).Select(k => k.From.ToString()).Distinct();
        return $"cannot {Describe(trigger)} a machine that is {from}; allowed from: {string.Join(", ", allowedFrom)}";
    }

    private static string Describe(LifecycleTrigger trigger) => trigger switch
    {
        LifecycleTrigger.Assign => "assign a profile to",
        LifecycleTrigger.InstallStarted => "start an install on",
        LifecycleTrigger.InstallDone => "finish the install of",
        LifecycleTrigger.FirstBootSucceeded => "mark as deployed",
        LifecycleTrigger.Fail => "fail",
        LifecycleTrigger.Reimage => "re-image",
        _ => trigger.ToString(),
    };
}
