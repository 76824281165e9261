using System.Collections.Frozen;
using Pxe.Profiles.Domain;

namespace Pxe.Profiles.Spec;

/// <summary>
/// A validated specification: every distro and profile, where each came from, and the revision it was stored as.
/// Immutable; a new one replaces it whole when the spec changes.
/// </summary>
public sealed class SpecModel
{
    /// <summary>An empty spec (a server with no profiles yet).</summary>
    public static readonly SpecModel Empty = new([], [], 0);

    /// <summary>Builds a model from distros and profiles with their sources.</summary>
    public SpecModel(
        IEnumerable<(Distro Distro, SpecSource Source)> distros,
        IEnumerable<(Profile Profile, SpecSource Source)> profiles,
        long revision)
    {
        Distros = distros.ToFrozenDictionary(d => d.Distro.Name, d => d.Distro, StringComparer.Ordinal);
        Profiles = profiles.ToFrozenDictionary(p => p.Profile.Name, p => p.Profile, StringComparer.Ordinal);
        DistroSources = distros.ToFrozenDictionary(d => d.Distro.Name, d => d.Source, StringComparer.Ordinal);
        ProfileSources = profiles.ToFrozenDictionary(p => p.Profile.Name, p => p.Source, StringComparer.Ordinal);
        Revision = revision;
    }

    /// <summary>Distros by name.</summary>
    public FrozenDictionary<string, Distro> Distros { get; }

    /// <summary>Profiles by name.</summary>
    public FrozenDictionary<string, Profile> Profiles { get; }

    /// <summary>Where each distro was written.</summary>
    public FrozenDictionary<string, SpecSource> DistroSources { get; }

    /// <summary>Where each profile was written.</summary>
    public FrozenDictionary<string, SpecSource> ProfileSources { get; }

    /// <summary>The store's spec revision this model reflects (0 when not stored).</summary>
    public long Revision { get; }

    /// <summary>A copy with one distro added or replaced.</summary>
    public SpecModel With(Distro distro, SpecSource source) => new(
        DistroEntries().Where(d => d.Distro.Name != distro.Name).Append((distro, source)),
        ProfileEntries(),
        Revision);

    /// <summary>A copy with one profile added or replaced.</summary>
    public SpecModel With(Profile profile, SpecSource source) => new(
        DistroEntries(),
        ProfileEntries().Where(p => p.Profile.Name != profile.Name).Append((profile, source)),
        Revision);

    /// <summary>A copy without the named distro.</summary>
    public SpecModel WithoutDistro(string name) => new(DistroEntries().Where(d => d.Distro.Name != name), ProfileEntries(), Revision);

    /// <summary>A copy without the named profile.</summary>
    public SpecModel WithoutProfile(string name) => new(DistroEntries(), ProfileEntries().Where(p => p.Profile.Name != name), Revision);

    /// <summary>A copy stamped with a store revision.</summary>
    public SpecModel WithRevision(long revision) => new(DistroEntries(), ProfileEntries(), revision);

    /// <summary>Every distro with its source.</summary>
    public IEnumerable<(Distro Distro, SpecSource Source)> DistroEntries() =>
        Distros.Values.OrderBy(d => d.Name, StringComparer.Ordinal).Select(d => (d, DistroSources[d.Name]));

    /// <summary>Every profile with its source.</summary>
    public IEnumerable<(Profile Profile, SpecSource Source)> ProfileEntries() =>
        Profiles.Values.OrderBy(p => p.Name, StringComparer.Ordinal).Select(p => (p, ProfileSources[p.Name]));
}
