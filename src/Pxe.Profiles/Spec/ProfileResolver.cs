using Pxe.Profiles.Domain;

namespace Pxe.Profiles.Spec;

/// <summary>A resolved value and where it came from (<c>machine</c>, <c>profile:web</c>, <c>distro:rhel9</c>, <c>server</c>).</summary>
public sealed record Sourced<T>(T Value, string Source);

/// <summary>A profile with its whole inheritance chain applied; every value says where it came from.</summary>
public sealed record ResolvedProfile
{
    /// <summary>The profile's name.</summary>
    public required string Name { get; init; }

    /// <summary>The distro at the root of the chain.</summary>
    public required Distro Distro { get; init; }

    /// <summary>Profile names from the root (the one naming the distro) to this one.</summary>
    public required IReadOnlyList<string> Chain { get; init; }

    /// <summary>The install template, if any profile in the chain names one.</summary>
    public Sourced<string>? InstallTemplate { get; init; }

    /// <summary>Boot loader (iPXE unless the chain says otherwise).</summary>
    public required Sourced<BootLoader> BootLoader { get; init; }

    /// <summary>Install timeout (<see cref="ProfileResolver.DefaultInstallTimeout"/> unless the chain says otherwise).</summary>
    public required Sourced<TimeSpan> InstallTimeout { get; init; }

    /// <summary>Installs retried after a timeout before falling back to local boot (0 unless the chain says otherwise).</summary>
    public required Sourced<int> InstallRetries { get; init; }

    /// <summary>Kernel arguments in command-line order, distro first.</summary>
    public required IReadOnlyList<KeyValuePair<string, Sourced<string?>>> KernelArgs { get; init; }

    /// <summary>Variables: distro, then each profile from the root down.</summary>
    public required IReadOnlyDictionary<string, Sourced<object?>> Variables { get; init; }

    /// <summary>First-boot hand-off settings.</summary>
    public required IReadOnlyDictionary<string, Sourced<object?>> Handoff { get; init; }

    /// <summary>Variable names declared secret anywhere in the chain (the distro included).</summary>
    public IReadOnlySet<string> Secrets { get; init; } = new HashSet<string>();
}

/// <summary>Applies profile inheritance the way Cobbler does: scalars override, dictionaries merge parent-first, <c>!key</c> removes.</summary>
public static class ProfileResolver
{
    /// <summary>Default install timeout when no profile sets one: long enough for a full distro install over a slow mirror.</summary>
    public static readonly TimeSpan DefaultInstallTimeout = TimeSpan.FromMinutes(60);

    /// <summary>Deepest inheritance chain accepted; deeper is almost certainly a mistake (and guards against cycles).</summary>
    public const int MaxDepth = 32;

    /// <summary>Resolves <paramref name="name"/>; the error says what is wrong with the chain.</summary>
    public static (ResolvedProfile? Profile, string? Error) Resolve(SpecModel spec, string name)
    {
        var chain = new List<Profile>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var current = name;
        while (true)
        {
            if (!spec.Profiles.TryGetValue(current, out var profile))
            {
                return (null, chain.Count == 0
                    ? $"profile '{current}' does not exist; known profiles: {Known(spec.Profiles.Keys)}"
                    : $"profile '{chain[^1].Name}' names parent '{current}', which does not exist; known profiles: {Known(spec.Profiles.Keys)}");
            }

            if (!seen.Add(current))
            {
                return (null, $"inheritance cycle: {string.Join(" -> ", chain.Select(p => p.Name).Append(current))}");
            }

            chain.Add(profile);
            if (chain.Count > MaxDepth)
            {
                return (null, $"profile '{name}' inherits through more than {MaxDepth} levels");
            }

            if (profile.Parent is null)
            {
                break;
            }

            current = profile.Parent;
        }

        chain.Reverse();
        var root = chain[0];
        if (root.Distro is null || !spec.Distros.TryGetValue(root.Distro, out var distro))
        {
            return (null, $"profile '{root.Name}' names distro '{root.Distro}', which does not exist; known distros: {Known(spec.Distros.Keys)}");
        }

        var distroSource = $"distro:{distro.Name}";
        Sourced<string>? template = null;
        var loader = new Sourced<BootLoader>(Domain.BootLoader.Ipxe, "default");
        var timeout = new Sourced<TimeSpan>(DefaultInstallTimeout, "default");
        var retries = new Sourced<int>(0, "default");
        foreach (var p in chain)
        {
            var src = $"profile:{p.Name}";
            if (p.InstallTemplate is not null)
            {
                template = new(p.InstallTemplate, src);
            }

            if (p.BootLoader is { } l)
            {
                loader = new(l, src);
            }

            if (p.InstallTimeout is { } t)
            {
                timeout = new(t, src);
            }

            if (p.InstallRetries is { } n)
            {
                retries = new(n, src);
            }
        }

        return (new ResolvedProfile
        {
            Name = name,
            Distro = distro,
            Chain = chain.Select(p => p.Name).ToList(),
            InstallTemplate = template,
            BootLoader = loader,
            InstallTimeout = timeout,
            InstallRetries = retries,
            KernelArgs = MergeKernelArgs(
                chain.Select(p => (p.KernelArgs, $"profile:{p.Name}")).Prepend((distro.KernelArgs, distroSource))),
            Variables = MergeValues(chain.Select(p => (p.Variables, $"profile:{p.Name}")).Prepend((distro.Variables, distroSource))),
            Handoff = MergeValues(chain.Select(p => (p.Handoff, $"profile:{p.Name}"))),
            Secrets = chain.SelectMany(p => p.Secrets).Concat(distro.Secrets).ToHashSet(StringComparer.Ordinal),
        }, null);
    }

    /// <summary>Merges dictionaries in order (later wins; <c>!key</c> removes), recording each value's source.</summary>
    public static Dictionary<string, Sourced<object?>> MergeValues(
        IEnumerable<(IReadOnlyDictionary<string, object?> Values, string Source)> layers)
    {
        var result = new Dictionary<string, Sourced<object?>>(StringComparer.Ordinal);
        foreach (var (values, source) in layers)
        {
            foreach (var (key, value) in values)
            {
                if (key.StartsWith('!'))
                {
                    result.Remove(key[1..]);
                }
                else
                {
                    result[key] = new(value, source);
                }
            }
        }

        return result;
    }

    /// <summary>Merges kernel arguments in order, keeping first-appearance order and each value's source.</summary>
    public static List<KeyValuePair<string, Sourced<string?>>> MergeKernelArgs(
        IEnumerable<(IReadOnlyDictionary<string, string?> Args, string Source)> layers)
    {
        var order = new List<string>();
        var values = new Dictionary<string, Sourced<string?>>(StringComparer.Ordinal);
        foreach (var (args, source) in layers)
        {
            foreach (var (key, value) in args)
            {
                if (key.StartsWith('!'))
                {
                    if (values.Remove(key[1..]))
                    {
                        order.Remove(key[1..]);
                    }

                    continue;
                }

                if (!values.ContainsKey(key))
                {
                    order.Add(key);
                }

                values[key] = new(value, source);
            }
        }

        return order.Select(k => new KeyValuePair<string, Sourced<string?>>(k, values[k])).ToList();
    }

    private static string Known(IEnumerable<string> names)
    {
        var list = names.Order(StringComparer.Ordinal).ToList();
        return list.Count == 0 ? "(none)" : string.Join(", ", list);
    }
}
