namespace Pxe.Profiles.Domain;

/// <summary>Something that happened: every change and every boot step is one.</summary>
public sealed record MachineEvent
{
    /// <summary>Store id (0 before stored).</summary>
    public long Id { get; init; }

    /// <summary>When it happened.</summary>
    public required DateTimeOffset Time { get; init; }

    /// <summary>The machine it concerns, if any.</summary>
    public MacAddress? Mac { get; init; }

    /// <summary>What kind of event (see <see cref="EventKinds"/>).</summary>
    public required string Kind { get; init; }

    /// <summary>Human-readable message.</summary>
    public required string Message { get; init; }

    /// <summary>Who caused it: an API token's name, <c>machine</c>, <c>timer</c>, <c>spec-file</c>, <c>system</c>.</summary>
    public required string Actor { get; init; }
}

/// <summary>The event kinds, in one table.</summary>
public static class EventKinds
{
    /// <summary>An unknown MAC asked to boot and was recorded.</summary>
    public const string Discovered = "discovered";

    /// <summary>A machine was created or changed through the API.</summary>
    public const string MachineChanged = "machine.changed";

    /// <summary>A machine was deleted.</summary>
    public const string MachineDeleted = "machine.deleted";

    /// <summary>The lifecycle state changed.</summary>
    public const string StateChanged = "state.changed";

    /// <summary>A boot script or boot-loader config was served.</summary>
    public const string BootServed = "boot.served";

    /// <summary>An install file was served.</summary>
    public const string InstallServed = "install.served";

    /// <summary>Rendering a file failed.</summary>
    public const string RenderFailed = "render.failed";

    /// <summary>The installer reported progress.</summary>
    public const string Progress = "install.progress";

    /// <summary>The installer called done.</summary>
    public const string Done = "install.done";

    /// <summary>The first boot hand-off reported.</summary>
    public const string FirstBoot = "firstboot";

    /// <summary>A re-image was requested.</summary>
    public const string Reimage = "reimage";

    /// <summary>A DHCP lease was granted.</summary>
    public const string Lease = "dhcp.lease";

    /// <summary>A profile or distro changed.</summary>
    public const string SpecChanged = "spec.changed";

    /// <summary>An API token was created.</summary>
    public const string TokenCreated = "token.created";

    /// <summary>An API token was revoked.</summary>
    public const string TokenRevoked = "token.revoked";

    /// <summary>A request was refused (no or wrong token, wrong install token).</summary>
    public const string AccessDenied = "access.denied";

    /// <summary>A spec reload was rejected.</summary>
    public const string SpecRejected = "spec.rejected";

    /// <summary>An image build was queued or made progress (step, stage, bytes); no MAC. The message starts with NAME/VERSION.</summary>
    public const string ImageBuild = "image.build";

    /// <summary>An image build finished and the image is in the library: formats, files, sizes and SHA-256; no MAC.</summary>
    public const string ImageBuilt = "image.built";

    /// <summary>An image build failed: the error with the tool's output tail, and where the build log is; no MAC.</summary>
    public const string ImageFailed = "image.failed";

    /// <summary>Image versions were removed from the library; no MAC.</summary>
    public const string ImageRemoved = "image.removed";
}
