using Microsoft.Extensions.Logging;

namespace Pxe.Images.Building;

/// <summary>Event ids of the image pipeline (6000–6099), in one table.</summary>
internal static class ImagesEventIds
{
    public const int BuildStarted = 6000;
    public const int StepCached = 6001;
    public const int StepBuilt = 6002;
    public const int BuildFinished = 6003;
    public const int BuildFailed = 6004;
}

internal static partial class Log
{
    [LoggerMessage(EventId = ImagesEventIds.BuildStarted, EventName = nameof(ImagesEventIds.BuildStarted), Level = LogLevel.Information, Message = "Building image {Image} version {Version} ({Formats}) from {Base}, role {Role}")]
    public static partial void BuildStarted(ILogger logger, string image, string version, string formats, string @base, string role);

    [LoggerMessage(EventId = ImagesEventIds.StepCached, EventName = nameof(ImagesEventIds.StepCached), Level = LogLevel.Debug, Message = "Image {Image}: step {Step} reused from the cache ({Key})")]
    public static partial void StepCached(ILogger logger, string image, string step, string key);

    [LoggerMessage(EventId = ImagesEventIds.StepBuilt, EventName = nameof(ImagesEventIds.StepBuilt), Level = LogLevel.Debug, Message = "Image {Image}: step {Step} built ({Key})")]
    public static partial void StepBuilt(ILogger logger, string image, string step, string key);

    [LoggerMessage(EventId = ImagesEventIds.BuildFinished, EventName = nameof(ImagesEventIds.BuildFinished), Level = LogLevel.Information, Message = "Image {Image} version {Version} stored: {Bytes} bytes in {Seconds:F1} s ({Cached} of {Steps} steps from the cache)")]
    public static partial void BuildFinished(ILogger logger, string image, string version, long bytes, double seconds, int cached, int steps);

    [LoggerMessage(EventId = ImagesEventIds.BuildFailed, EventName = nameof(ImagesEventIds.BuildFailed), Level = LogLevel.Warning, Message = "Image {Image} version {Version} failed: {Reason} (log {BuildLog})")]
    public static partial void BuildFailed(ILogger logger, string image, string version, string reason, string buildLog);
}
