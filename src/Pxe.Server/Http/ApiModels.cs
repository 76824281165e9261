using System.Globalization;
using System.Text.Json;
using Pxe.Profiles.Domain;
using Pxe.Profiles.Services;
using Pxe.Profiles.Storage;

namespace Pxe.Server.Http;

/// <summary>A machine as the API shows it.</summary>
public sealed record MachineView(
    IReadOnlyList<string> Macs,
    string? Hostname,
    string? Domain,
    string? Ipv4,
    string? Gateway,
    IReadOnlyList<string> Dns,
    string? Profile,
    string BootAction,
    string State,
    IReadOnlyDictionary<string, object?> Variables,
    IReadOnlyDictionary<string, string?> KernelArgs,
    IReadOnlyList<string> Tags,
    InstallView? Install,
    DateTimeOffset Created,
    DateTimeOffset Updated,
    long Revision)
{
    internal static MachineView From(Machine m, IReadOnlySet<string> secrets) => new(
        m.Macs.Select(x => x.ToString()).ToList(),
        m.Hostname,
        m.Domain,
        m.IPv4 is null ? null : $"{m.IPv4.Address}/{m.IPv4.PrefixLength.ToString(CultureInfo.InvariantCulture)}",
        m.IPv4?.Gateway?.ToString(),
        m.IPv4?.Dns.Select(d => d.ToString()).ToList() ?? [],
        m.Profile,
        m.BootAction.ToString().ToLowerInvariant(),
        m.State.ToString(),
        Pxe.Profiles.Spec.SecretVariables.Redact(m.Variables, secrets),
        m.KernelArgs,
        m.Tags,
        m.Install is null ? null : new InstallView(m.Install.Started, m.Install.Deadline, m.Install.Attempt),
        m.Created,
        m.Updated,
        m.Revision);
}

/// <summary>A running install.</summary>
public sealed record InstallView(DateTimeOffset Started, DateTimeOffset Deadline, int Attempt);

/// <summary>An event as the API shows it.</summary>
public sealed record EventView(long Id, DateTimeOffset Time, string? Mac, string Kind, string Message, string Actor)
{
    internal static EventView From(MachineEvent e) => new(e.Id, e.Time, e.Mac?.ToString(), e.Kind, e.Message, e.Actor);
}

/// <summary>A version of a distro or profile.</summary>
public sealed record VersionView(int Version, DateTimeOffset Created, string Actor, string? Comment, bool Deleted, string? Yaml)
{
    internal static VersionView From(SpecVersion v, bool withYaml) =>
        new(v.Version, v.Created, v.Actor, v.Comment, v.Deleted, withYaml && v.Yaml is not null ? Redaction.Yaml(v.Yaml) : null);
}

/// <summary>A resolved value with its source.</summary>
public sealed record SourcedView(object? Value, string Source);

/// <summary>The body of PUT /api/v1/machines/{mac}: every field optional; variables are any JSON values.</summary>
public sealed record MachineBody
{
    public List<string>? Macs { get; init; }

    public string? Hostname { get; init; }

    public string? Domain { get; init; }

    public string? Ipv4 { get; init; }

    public string? Gateway { get; init; }

    public List<string>? Dns { get; init; }

    public string? Profile { get; init; }

    public string? BootAction { get; init; }

    public Dictionary<string, JsonElement>? Variables { get; init; }

    public Dictionary<string, string?>? KernelArgs { get; init; }

    public List<string>? Tags { get; init; }

    internal MachineInput ToInput() => new()
    {
        Macs = Macs,
        Hostname = Hostname,
        Domain = Domain,
        Ipv4 = Ipv4,
        Gateway = Gateway,
        Dns = Dns,
        Profile = Profile,
        BootAction = BootAction,
        Variables = Variables?.ToDictionary(v => v.Key, v => VariableJson.ToValue(v.Value), StringComparer.Ordinal),
        KernelArgs = KernelArgs,
        Tags = Tags,
    };
}

/// <summary>One item of a JSON bulk import.</summary>
public sealed record ImportItem
{
    public string? Mac { get; init; }

    public MachineBody? Machine { get; init; }
}

/// <summary>The body of POST /api/v1/tokens.</summary>
public sealed record TokenBody(string? Name, string? Role);

/// <summary>The body of a rollback.</summary>
public sealed record RollbackBody(int Version);

/// <summary>The body of a progress report (also accepted as query parameters).</summary>
public sealed record ReportBody(string? Stage, string? Status, string? Message);

/// <summary>A distro as the API reads and writes it.</summary>
public sealed record DistroBody
{
    public string? Name { get; init; }

    public string? Arch { get; init; }

    public string? Breed { get; init; }

    public string? Kernel { get; init; }

    public string? Initrd { get; init; }

    public Dictionary<string, string?>? KernelArgs { get; init; }

    public string? InstallTree { get; init; }

    public Dictionary<string, JsonElement>? Variables { get; init; }

    public string? Comment { get; init; }
}

/// <summary>A profile as the API reads and writes it.</summary>
public sealed record ProfileBody
{
    public string? Name { get; init; }

    public string? Distro { get; init; }

    public string? Parent { get; init; }

    public string? InstallTemplate { get; init; }

    public string? BootLoader { get; init; }

    public string? InstallTimeout { get; init; }

    public int? InstallRetries { get; init; }

    public Dictionary<string, string?>? KernelArgs { get; init; }

    public Dictionary<string, JsonElement>? Variables { get; init; }

    public Dictionary<string, JsonElement>? Handoff { get; init; }

    public string? Comment { get; init; }
}
