using Pxe.Profiles.Domain;
using Pxe.Profiles.Rendering;
using Pxe.Profiles.Spec;
using Pxe.Profiles.Storage;
using Pxe.Profiles.Templates;

namespace Pxe.Profiles.Services;

/// <summary>What is being served right now: a validated spec, its templates, and the renderer over both.</summary>
public sealed record SpecState(SpecModel Spec, TemplateLibrary Templates, MachineRenderer Renderer)
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, (ResolvedProfile? Profile, string? Error)> _resolved = new(StringComparer.Ordinal);

    /// <summary>
    /// Resolves a profile of this spec, once: the spec is immutable, so the result is too (the boot path asks for the
    /// same few profiles thousands of times a second).
    /// </summary>
    public (ResolvedProfile? Profile, string? Error) Resolve(string name) =>
        Spec.Profiles.ContainsKey(name)
            ? _resolved.GetOrAdd(name, static (n, spec) => ProfileResolver.Resolve(spec, n), Spec)
            : ProfileResolver.Resolve(Spec, name);
}

/// <summary>The outcome of a spec change: the errors that rejected it, or the versions it stored.</summary>
public sealed record SpecChangeResult(IReadOnlyList<SpecError> Errors, IReadOnlyList<SpecVersion> Written)
{
    /// <summary>True when the change was accepted.</summary>
    public bool Accepted => Errors.Count == 0;
}

/// <summary>
/// Owns the specification: loads it from files at start and on reload, applies API changes (validated, written back
/// to the files, stored as numbered versions), rolls back to earlier versions, and hands out the current
/// <see cref="SpecState"/>. A change that fails validation is rejected whole and the last good spec keeps serving.
/// </summary>
public sealed class SpecService(ISpecStore store, IEventStore events, SpecDirectory files, string templatesDirectory, RenderSettings settings)
{
    /// <summary>How often request paths re-check the store's spec revision (another server may have changed it).</summary>
    public static readonly TimeSpan FreshnessInterval = TimeSpan.FromSeconds(1);

    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private volatile SpecState? _state;
    private long _lastFreshnessCheck;

    /// <summary>The spec being served. Throws before <see cref="InitializeAsync"/> succeeded.</summary>
    public SpecState Current => _state ?? throw new InvalidOperationException("the specification has not been loaded");

    /// <summary>The spec directory.</summary>
    public SpecDirectory Files => files;

    /// <summary>
    /// Loads templates and spec files, validates them, and stores what changed. At start a spec that does not
    /// validate is fatal: the errors come back and nothing is served.
    /// </summary>
    public async Task<IReadOnlyList<SpecError>> InitializeAsync(CancellationToken ct)
    {
        var result = await LoadFromFilesAsync("spec-file", ct);
        return result.Errors;
    }

    /// <summary>Reloads templates and spec files. On errors the current spec keeps serving and an event records why.</summary>
    public async Task<SpecChangeResult> ReloadAsync(string actor, CancellationToken ct)
    {
        var result = await LoadFromFilesAsync(actor, ct);
        if (!result.Accepted)
        {
            await events.AppendEventAsync(new MachineEvent
            {
                Time = DateTimeOffset.UtcNow,
                Kind = EventKinds.SpecRejected,
                Message = $"spec reload rejected ({result.Errors.Count} problems): {string.Join("; ", result.Errors.Take(5))}",
                Actor = actor,
            }, ct);
        }

        return result;
    }

    private async Task<SpecChangeResult> LoadFromFilesAsync(string actor, CancellationToken ct)
    {
        await _writeLock.WaitAsync(ct);
        try
        {
            var errors = new List<SpecError>();
            var templates = LoadTemplates(errors);
            var (spec, specErrors) = files.Load();
            errors.AddRange(specErrors);
            if (templates is null || spec is null || errors.Count > 0)
            {
                return new SpecChangeResult(errors, []);
            }

            errors.AddRange(SpecValidator.Validate(spec, templates, settings.Globals.Keys.ToHashSet()));
            if (errors.Count > 0)
            {
                return new SpecChangeResult(errors, []);
            }

            // The files are the spec: store what changed, and delete what is no longer in them.
            var stored = await store.LoadSpecAsync(ct);
            var changes = new List<SpecChange>();
            changes.AddRange(spec.DistroEntries().Select(d => new SpecChange("distro", d.Distro.Name, SpecYaml.Write(d.Distro), d.Source.File)));
            changes.AddRange(spec.ProfileEntries().Select(p => new SpecChange("profile", p.Profile.Name, SpecYaml.Write(p.Profile), p.Source.File)));
            changes.AddRange(stored.Objects
                .Where(o => o.Kind == "distro" ? !spec.Distros.ContainsKey(o.Name) : !spec.Profiles.ContainsKey(o.Name))
                .Select(o => new SpecChange(o.Kind, o.Name, null, o.SourceFile, "removed from the spec files")));
            var (revision, written) = await store.CommitSpecAsync(changes, actor, ct);
            Publish(spec.WithRevision(revision), templates);
            return new SpecChangeResult([], written);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Creates or replaces a distro (validated with the whole spec), writes its file and stores a version.</summary>
    public Task<SpecChangeResult> PutDistroAsync(Distro distro, string actor, string? comment, CancellationToken ct) =>
        ChangeAsync(s => s.With(distro, s.DistroSources.GetValueOrDefault(distro.Name) ?? SpecSource.Api), "distro", distro.Name, SpecYaml.Write(distro), actor, comment, ct);

    /// <summary>Creates or replaces a profile (validated with the whole spec), writes its file and stores a version.</summary>
    public Task<SpecChangeResult> PutProfileAsync(Profile profile, string actor, string? comment, CancellationToken ct) =>
        ChangeAsync(s => s.With(profile, s.ProfileSources.GetValueOrDefault(profile.Name) ?? SpecSource.Api), "profile", profile.Name, SpecYaml.Write(profile), actor, comment, ct);

    /// <summary>Deletes a distro; refused while a profile uses it.</summary>
    public Task<SpecChangeResult> DeleteDistroAsync(string name, string actor, CancellationToken ct) =>
        ChangeAsync(s => s.WithoutDistro(name), "distro", name, null, actor, null, ct);

    /// <summary>Deletes a profile; refused while another profile inherits from it.</summary>
    public Task<SpecChangeResult> DeleteProfileAsync(string name, string actor, CancellationToken ct) =>
        ChangeAsync(s => s.WithoutProfile(name), "profile", name, null, actor, null, ct);

    /// <summary>
    /// Restores version <paramref name="version"/> of an object as its newest version (a roll forward to a known
    /// good spec: history is never rewritten).
    /// </summary>
    public async Task<SpecChangeResult> RollbackAsync(string kind, string name, int version, string actor, CancellationToken ct)
    {
        var versions = await store.ListVersionsAsync(kind, name, ct);
        var target = versions.FirstOrDefault(v => v.Version == version);
        if (target is null)
        {
            var known = versions.Count == 0 ? "it has no versions" : $"known versions: {string.Join(", ", versions.Select(v => v.Version))}";
            return new SpecChangeResult([new SpecError("(api)", 0, "version", $"{kind} '{name}' has no version {version}; {known}")], []);
        }

        if (target.Yaml is null)
        {
            return new SpecChangeResult([new SpecError("(api)", 0, "version", $"version {version} of {kind} '{name}' is a deletion; choose a version that has content")], []);
        }

        var read = SpecYaml.Read(target.Yaml, $"{kind} '{name}' version {version}");
        if (read.Errors.Count > 0)
        {
            return new SpecChangeResult(read.Errors, []);
        }

        var comment = $"rollback to version {version}";
        return read.Distro is { } d
            ? await PutDistroAsync(d, actor, comment, ct)
            : await PutProfileAsync(read.Profile!, actor, comment, ct);
    }

    private async Task<SpecChangeResult> ChangeAsync(
        Func<SpecModel, SpecModel> apply, string kind, string name, string? yaml, string actor, string? comment, CancellationToken ct)
    {
        await _writeLock.WaitAsync(ct);
        try
        {
            var current = Current;
            var exists = kind == "distro" ? current.Spec.Distros.ContainsKey(name) : current.Spec.Profiles.ContainsKey(name);
            if (yaml is null && !exists)
            {
                return new SpecChangeResult([new SpecError("(api)", 0, "name", $"{kind} '{name}' does not exist")], []);
            }

            var next = apply(current.Spec);
            var errors = SpecValidator.Validate(next, current.Templates, settings.Globals.Keys.ToHashSet());
            if (yaml is null)
            {
                errors = [.. errors, .. DependentsOf(current.Spec, kind, name)];
            }

            if (errors.Count > 0)
            {
                return new SpecChangeResult(errors, []);
            }

            var sources = kind == "distro" ? current.Spec.DistroSources : current.Spec.ProfileSources;
            var oldFile = sources.GetValueOrDefault(name)?.File ?? "(api)";
            string? previousText = null;
            var oldPath = oldFile == "(api)" ? null : Path.Combine(files.Root, oldFile);
            if (oldPath is not null && File.Exists(oldPath))
            {
                previousText = await File.ReadAllTextAsync(oldPath, ct);
            }

            var file = yaml is null ? oldFile : files.Write(oldFile, kind, name, yaml);
            if (yaml is null)
            {
                files.Delete(oldFile);
            }

            try
            {
                var (revision, written) = await store.CommitSpecAsync([new SpecChange(kind, name, yaml, file, comment)], actor, ct);
                var source = new SpecSource(file, 1);
                var published = yaml is null ? next : kind == "distro"
                    ? next.With(next.Distros[name], source)
                    : next.With(next.Profiles[name], source);
                Publish(published.WithRevision(revision), current.Templates);
                return new SpecChangeResult([], written);
            }
            catch
            {
                // The store refused: put the file back as it was so files and store agree.
                if (previousText is not null && oldPath is not null)
                {
                    await File.WriteAllTextAsync(oldPath, previousText, ct);
                }
                else if (yaml is not null)
                {
                    files.Delete(file);
                }

                throw;
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private static IEnumerable<SpecError> DependentsOf(SpecModel spec, string kind, string name)
    {
        var users = kind == "distro"
            ? spec.Profiles.Values.Where(p => p.Distro == name).Select(p => p.Name)
            : spec.Profiles.Values.Where(p => p.Parent == name).Select(p => p.Name);
        var list = users.Order(StringComparer.Ordinal).ToList();
        if (list.Count > 0)
        {
            yield return new SpecError("(api)", 0, "name",
                $"{kind} '{name}' is used by profile{(list.Count == 1 ? "" : "s")} {string.Join(", ", list)}; change or delete {(list.Count == 1 ? "it" : "them")} first");
        }
    }

    /// <summary>
    /// Picks up changes another server made to a shared store: at most once per <see cref="FreshnessInterval"/>, compares
    /// the store's spec revision with the one served and rebuilds from the store when it moved.
    /// </summary>
    public async ValueTask EnsureFreshAsync(CancellationToken ct)
    {
        var now = Environment.TickCount64;
        var last = Interlocked.Read(ref _lastFreshnessCheck);
        if (now - last < FreshnessInterval.TotalMilliseconds || Interlocked.CompareExchange(ref _lastFreshnessCheck, now, last) != last)
        {
            return;
        }

        var current = Current;
        var revision = await store.GetSpecRevisionAsync(ct);
        if (revision == current.Spec.Revision)
        {
            return;
        }

        await _writeLock.WaitAsync(ct);
        try
        {
            var stored = await store.LoadSpecAsync(ct);
            var distros = new List<(Distro, SpecSource)>();
            var profiles = new List<(Profile, SpecSource)>();
            foreach (var o in stored.Objects)
            {
                var read = SpecYaml.Read(o.Yaml, o.SourceFile);
                if (read.Distro is { } d)
                {
                    distros.Add((d, new SpecSource(o.SourceFile, 1)));
                }
                else if (read.Profile is { } p)
                {
                    profiles.Add((p, new SpecSource(o.SourceFile, 1)));
                }
            }

            Publish(new SpecModel(distros, profiles, stored.Revision), Current.Templates);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private TemplateLibrary? LoadTemplates(List<SpecError> errors)
    {
        var result = TemplateLibrary.Load(templatesDirectory);
        foreach (var e in result.Errors)
        {
            errors.Add(new SpecError("templates/" + e.Template, e.Line, e.Variable, e.Message));
        }

        return result.Library;
    }

    private void Publish(SpecModel spec, TemplateLibrary templates) =>
        _state = new SpecState(spec, templates, new MachineRenderer(templates, settings));
}
