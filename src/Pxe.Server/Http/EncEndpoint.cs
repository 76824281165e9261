using Pxe.Profiles.Domain;
using Pxe.Profiles.Rendering;
using Pxe.Profiles.Services;
using Pxe.Profiles.Spec;
using Pxe.Profiles.Storage;
using YamlDotNet.RepresentationModel;

namespace Pxe.Server.Http;

/// <summary>
/// The Puppet external node classifier (ENC): <c>GET /api/v1/enc/{certname}</c> answers the YAML node definition that
/// Puppet's exec node terminus reads from an ENC script (https://www.puppet.com/docs/puppet/8/nodes_external):
/// <c>classes</c> (<c>role::&lt;role&gt;</c> from the machine's <c>role</c> variable, then its <c>puppet_classes</c> list),
/// <c>parameters</c> (its non-secret variables with hostname, fqdn, mac, profile and role) and <c>environment</c> (its
/// profile's puppet hand-off environment; left out for other clients, so the agent's own environment applies).
/// The certname is matched, case-insensitively, against a puppet hand-off's explicit certname, then each machine's
/// fqdn, then its short host name. An unknown certname is a 404 problem: the ENC script then exits non-zero and Puppet
/// fails that node's catalog with "could not find node".
/// </summary>
internal static class EncEndpoint
{
    /// <summary>The answer's media type.</summary>
    public const string ContentType = "text/yaml; charset=utf-8";

    /// <summary>The list variable whose classes are added after the role class.</summary>
    public const string ClassesVariable = "puppet_classes";

    /// <summary>The standard variables that become parameters (the others describe the install, not the node).</summary>
    private static readonly string[] IdentityParameters = ["hostname", "fqdn", "mac", "profile"];

    /// <summary>Names Puppet reserves for its own top-scope variables; a node parameter of that name would fail compilation.</summary>
    private static readonly HashSet<string> ReservedNames = new(StringComparer.Ordinal)
    {
        "trusted", "facts", "server_facts", "environment", "title", "name", "module_name", "caller_module_name",
    };

    private const int PageSize = 1000;

    public static void Map(WebApplication app)
    {
        app.MapGroup("/api/v1").AddEndpointFilter(ApiAuth.Filter)
            .MapGet("/enc/{certname}", Classify)
            .WithDescription("Puppet external node classifier: the node definition (classes, parameters, environment) of the machine whose "
                + "fqdn, host name or puppet certname is {certname}, as text/yaml. An ENC script for Puppet's exec node terminus fetches it; see README, First-boot hand-off.")
            .Produces<string>(StatusCodes.Status200OK, "text/yaml");
    }

    private static async Task<IResult> Classify(string certname, IMachineStore machines, SpecService spec, CancellationToken ct)
    {
        if (certname.Length > 253 || !certname.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_'))
        {
            return Problems.BadRequest($"'{(certname.Length > 64 ? certname[..64] + "…" : certname)}' is not a certname; Puppet sends the node's certificate name (letters, digits, '.', '-', '_')");
        }

        await spec.EnsureFreshAsync(ct);
        var state = spec.Current;
        var (matches, tier) = await FindAsync(certname, machines, state, ct);
        if (matches.Count == 0)
        {
            return Problems.NotFound($"no machine has certname '{certname}' (matched case-insensitively against a puppet hand-off's certname, " +
                "each machine's fqdn and its host name); give the machine that host name and domain with PUT /api/v1/machines/{mac}. " +
                "Puppet fails this node's catalog with \"could not find node\" until then");
        }

        if (matches.Count > 1)
        {
            return Problems.Conflict($"certname '{certname}' matches the {tier} of {matches.Count} machines " +
                $"({string.Join(", ", matches.Select(m => $"{Fqdn(m)} {m.PrimaryMac}"))}); use the fqdn as the agent's certname, or tell the machines apart");
        }

        var machine = matches[0];
        ResolvedProfile? profile = null;
        if (machine.Profile is not null)
        {
            (profile, var error) = state.Resolve(machine.Profile);
            if (profile is null)
            {
                return Problems.Conflict($"machine {machine.PrimaryMac} has profile '{machine.Profile}', which cannot be resolved: {error}");
            }
        }

        var (document, problem) = Document(machine, profile, state.Renderer);
        return document is null
            ? Problems.Conflict($"machine {Fqdn(machine)} ({machine.PrimaryMac}) cannot be classified: {problem}")
            : Results.Text(HandoffYaml.Write(document), ContentType);
    }

    /// <summary>The machines <paramref name="certname"/> names, in the first tier that matches any, and that tier's name.</summary>
    private static async Task<(List<Machine> Matches, string Tier)> FindAsync(string certname, IMachineStore machines, SpecState state, CancellationToken ct)
    {
        // Profiles whose puppet hand-off names a certname of its own (rare: it is the same for every machine of the profile).
        var certnames = new Dictionary<string, string?>(StringComparer.Ordinal);
        string? CertnameOf(string? name)
        {
            if (name is null)
            {
                return null;
            }

            if (!certnames.TryGetValue(name, out var value))
            {
                value = state.Resolve(name).Profile is { } p && HandoffSettings.Parse(p.Handoff).Settings is PuppetHandoff { Certname: { } c } ? c : null;
                certnames[name] = value;
            }

            return value;
        }

        List<Machine> byCertname = [], byFqdn = [], byHostname = [];
        long after = 0;
        while (true)
        {
            var page = await machines.ListMachinesAsync(new MachineQuery { AfterId = after, Limit = PageSize }, ct);
            foreach (var m in page)
            {
                if (string.Equals(CertnameOf(m.Profile), certname, StringComparison.OrdinalIgnoreCase))
                {
                    byCertname.Add(m);
                }
                else if (string.Equals(Fqdn(m), certname, StringComparison.OrdinalIgnoreCase))
                {
                    byFqdn.Add(m);
                }
                else if (string.Equals(Hostname(m), certname, StringComparison.OrdinalIgnoreCase))
                {
                    byHostname.Add(m);
                }
            }

            if (page.Count < PageSize)
            {
                break;
            }

            after = page[^1].Id;
        }

        return byCertname.Count > 0 ? (byCertname, "puppet certname")
            : byFqdn.Count > 0 ? (byFqdn, "fqdn")
            : (byHostname, "host name");
    }

    /// <summary>The node definition, or why the machine's data cannot make one.</summary>
    private static (YamlMappingNode? Document, string? Problem) Document(Machine machine, ResolvedProfile? profile, MachineRenderer renderer)
    {
        var variables = renderer.Variables(machine, profile, machine.PrimaryMac, installToken: null);
        var (role, roleError) = HandoffVariable.Role(variables);
        if (roleError is not null)
        {
            return (null, roleError);
        }

        var classes = new List<string>();
        if (role.Length > 0)
        {
            if (PuppetHandoff.RoleProblem(role) is { } problem)
            {
                return (null, problem);
            }

            classes.Add("role::" + role);
        }

        if (variables.TryGetValue(ClassesVariable, out var listed) && listed.Value is not null)
        {
            if (listed.Value is string || listed.Value is not IEnumerable<object?> items)
            {
                return (null, $"variable {ClassesVariable} (from {listed.Source}) must be a list of class names, e.g. [profile::base, ntp]");
            }

            foreach (var item in items)
            {
                if (item is not string name || !HandoffSettings.IsPuppetClass(name))
                {
                    return (null, $"variable {ClassesVariable} (from {listed.Source}) lists '{item}', which is not a Puppet class name " +
                        "(lowercase words of letters, digits and '_' joined by '::')");
                }

                if (!classes.Contains(name, StringComparer.Ordinal))
                {
                    classes.Add(name);
                }
            }
        }

        var secrets = profile?.Secrets ?? new HashSet<string>();
        var parameters = new SortedDictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (name, value) in variables)
        {
            var identity = IdentityParameters.Contains(name, StringComparer.Ordinal);
            if ((!identity && StandardVariables.Names.Contains(name)) || name == ClassesVariable || ReservedNames.Contains(name)
                || SecretVariables.IsSecret(name, secrets))
            {
                continue;
            }

            parameters[name] = WithoutSecrets(value.Value, secrets);
        }

        parameters[HandoffVariable.RoleVariable] = role;
        var document = new YamlMappingNode
        {
            { "classes", new YamlSequenceNode(classes.Select(c => new YamlScalarNode(c))) },
            { "parameters", HandoffYaml.Node(parameters.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal)) },
        };
        if (profile is not null)
        {
            var (settings, errors) = HandoffSettings.Parse(profile.Handoff);
            if (settings is null)
            {
                return (null, $"profile '{profile.Name}' has an invalid handoff: {string.Join("; ", errors.Select(e => $"{e.Field}: {e.Message}"))}");
            }

            if (settings is PuppetHandoff puppet)
            {
                document.Add("environment", new YamlScalarNode(puppet.Environment));
            }
        }

        return (document, null);
    }

    /// <summary>A copy of a value whose mappings (at any depth) lose the keys that name secrets.</summary>
    private static object? WithoutSecrets(object? value, IReadOnlySet<string> secrets) => value switch
    {
        IReadOnlyDictionary<string, object?> map => map.Where(e => !SecretVariables.IsSecret(e.Key, secrets))
            .ToDictionary(e => e.Key, e => WithoutSecrets(e.Value, secrets), StringComparer.Ordinal),
        string => value,
        IEnumerable<object?> list => list.Select(i => WithoutSecrets(i, secrets)).ToList(),
        _ => value,
    };

    /// <summary>The host name the renderer uses for <paramref name="machine"/> (a default for machines without one).</summary>
    private static string Hostname(Machine machine) => machine.Hostname ?? "host-" + machine.PrimaryMac.ToHyphenString();

    private static string Fqdn(Machine machine) => string.IsNullOrEmpty(machine.Domain) ? Hostname(machine) : $"{Hostname(machine)}.{machine.Domain}";
}
