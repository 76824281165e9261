using Pxe.Profiles.Domain;

namespace Pxe.Profiles.Tests.Domain;

public class MachineLifecycleTests
{
    [Theory]
    [InlineData(MachineState.Discovered, LifecycleTrigger.Assign, MachineState.Ready)]
    [InlineData(MachineState.Ready, LifecycleTrigger.InstallStarted, MachineState.Installing)]
    [InlineData(MachineState.Installing, LifecycleTrigger.InstallStarted, MachineState.Installing)]
    [InlineData(MachineState.Installing, LifecycleTrigger.InstallDone, MachineState.Installed)]
    [InlineData(MachineState.Installed, LifecycleTrigger.FirstBootSucceeded, MachineState.Deployed)]
    [InlineData(MachineState.Installing, LifecycleTrigger.Fail, MachineState.Failed)]
    [InlineData(MachineState.Installed, LifecycleTrigger.Fail, MachineState.Failed)]
    [InlineData(MachineState.Deployed, LifecycleTrigger.Reimage, MachineState.Ready)]
    [InlineData(MachineState.Failed, LifecycleTrigger.Reimage, MachineState.Ready)]
    public void Next_AllowsTheDocumentedTransitions(MachineState from, LifecycleTrigger trigger, MachineState to) =>
        Assert.Equal(to, MachineLifecycle.Next(from, trigger));

    [Theory]
    [InlineData(MachineState.Discovered, LifecycleTrigger.InstallDone)]
    [InlineData(MachineState.Ready, LifecycleTrigger.InstallDone)]
    [InlineData(MachineState.Installed, LifecycleTrigger.InstallDone)]
    [InlineData(MachineState.Deployed, LifecycleTrigger.Fail)]
    [InlineData(MachineState.Discovered, LifecycleTrigger.Reimage)]
    [InlineData(MachineState.Ready, LifecycleTrigger.FirstBootSucceeded)]
    [InlineData(MachineState.Failed, LifecycleTrigger.InstallStarted)]
    public void Next_RefusesEverythingElse_WithAMessageSayingWhatIsAllowed(MachineState from, LifecycleTrigger trigger)
    {
        Assert.Null(MachineLifecycle.Next(from, trigger));
        var message = MachineLifecycle.Refusal(from, trigger);
        Assert.Contains(from.ToString(), message);
        Assert.Contains("allowed from", message);
    }

    [Fact]
    public void Failed_IsReachableOnlyFromInstallingOrInstalled()
    {
        var into = MachineLifecycle.All.Where(t => t.To == MachineState.Failed && t.From != MachineState.Failed).Select(t => t.From).Distinct().Order();
        Assert.Equal([MachineState.Installing, MachineState.Installed], into);
    }
}
