using Pxe.Images.Building;
using Pxe.Server.Images;

namespace Pxe.Server.Tests;

/// <summary>The image events' text (what the CLI reads back) and which progress reports become events.</summary>
public sealed class ImageBuildEventsTests
{
    [Theory]
    [InlineData("base", ImageBuildStage.Started, 0L, null, null, "web/3 base started")]
    [InlineData("disk", ImageBuildStage.Running, 52428800L, null, null, "web/3 disk running: 52428800 bytes")]
    [InlineData("store", ImageBuildStage.Running, 1000L, 4000L, "web-3.raw", "web/3 store running: 1000 of 4000 bytes (web-3.raw)")]
    [InlineData("rootfs-tar", ImageBuildStage.Cached, 3137536L, null, null, "web/3 rootfs-tar cached: 3137536 bytes")]
    [InlineData("disk", ImageBuildStage.Finished, 182460416L, 182460416L, null, "web/3 disk finished: 182460416 bytes")]
    public void Progress_HasOneShape_ThatReadsBack(string step, ImageBuildStage stage, long bytes, long? total, string? detail, string expected)
    {
        var text = ImageBuildEvents.Progress("web", "3", new ImageBuildProgress(step, stage, bytes, total, detail));
        var read = ImageBuildEvents.ParseProgress(text);

        Assert.Equal(expected, text);
        Assert.NotNull(read);
        Assert.Equal(("web/3", step, text.Split(' ')[2].TrimEnd(':')), (read.Image, read.Step, read.Stage));
        Assert.Equal(stage == ImageBuildStage.Started ? null : bytes, read.Bytes);
        Assert.Equal(stage == ImageBuildStage.Running ? total : null, read.Total);
        Assert.Equal(detail, read.Detail);
    }

    [Theory]
    [InlineData("web/3 queued by admin: formats raw; base folder /srv/tree; role web; 0 builds ahead")]
    [InlineData("web/3 built in 2.8 s (0 of 3 steps from the cache): raw disk web-3.raw 1 bytes sha256 ab")]
    [InlineData("web/3 disk running: lots of bytes")]
    public void OtherMessages_AreNotProgress(string message) => Assert.Null(ImageBuildEvents.ParseProgress(message));

    [Fact]
    public void Failed_KeepsTheEndOfALongToolOutput_AndTheLogPath()
    {
        var output = string.Join('\n', Enumerable.Range(1, 2000).Select(i => $"line {i} of the tool's output"));

        var text = ImageBuildEvents.Failed("web", "3", "step 'disk' failed: sfdisk exited with code 1\n" + output, "/data/files/images/web/.failed/3-x.log");

        Assert.True(text.Length <= ImageBuildEvents.MaxMessage, $"{text.Length} characters");
        Assert.StartsWith("web/3 failed: step 'disk' failed: sfdisk exited with code 1", text, StringComparison.Ordinal);
        Assert.EndsWith("line 2000 of the tool's output; build log: /data/files/images/web/.failed/3-x.log", text, StringComparison.Ordinal);
        Assert.Contains(" … ", text, StringComparison.Ordinal);
    }

    /// <summary>(step, stage, seconds since the build started) → whether it becomes an event; interval 2 s.</summary>
    public static TheoryData<(string Step, ImageBuildStage Stage, double Seconds, bool Posted)[]> ThrottleCases() => new()
    {
        // Running bytes at most every 2 s per step, counted from the step's start.
        new[]
        {
            ("disk", ImageBuildStage.Started, 0.0, true), ("disk", ImageBuildStage.Running, 1.0, false), ("disk", ImageBuildStage.Running, 2.0, true),
            ("disk", ImageBuildStage.Running, 3.9, false), ("disk", ImageBuildStage.Running, 4.0, true), ("disk", ImageBuildStage.Finished, 4.1, true),
        },
        // Start, cache hit and finish always pass; each step has its own clock.
        new[]
        {
            ("base", ImageBuildStage.Cached, 0.0, true), ("role", ImageBuildStage.Started, 0.1, true), ("store", ImageBuildStage.Running, 0.2, true),
            ("store", ImageBuildStage.Running, 0.3, false), ("role", ImageBuildStage.Running, 0.4, false), ("role", ImageBuildStage.Finished, 0.5, true),
            ("store", ImageBuildStage.Running, 2.2, true), ("store", ImageBuildStage.Finished, 2.3, true),
        },
    };

    [Theory]
    [MemberData(nameof(ThrottleCases))]
    public void Throttle_PostsEveryStageChange_AndRunningBytesEveryTwoSecondsPerStep((string Step, ImageBuildStage Stage, double Seconds, bool Posted)[] reports)
    {
        var throttle = new ProgressThrottle(TimeSpan.FromSeconds(2));

        var posted = reports.Select(r => throttle.ShouldPost(new ImageBuildProgress(r.Step, r.Stage, 1), TimeSpan.FromSeconds(r.Seconds))).ToList();

        Assert.Equal(reports.Select(r => r.Posted), posted);
    }
}
