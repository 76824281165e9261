using System.Net;
using System.Net.Sockets;
using Pxe.Profiles.Domain;
using Pxe.Profiles.Spec;

namespace Pxe.Profiles.Services;

/// <summary>
/// A machine as the API and bulk import describe it. Every field is optional on update (null keeps the stored value);
/// <see cref="Apply"/> validates and reports every problem with the field and what is allowed.
/// </summary>
public sealed record MachineInput
{
    /// <summary>All MACs of the machine (the path's MAC is added first when missing).</summary>
    public IReadOnlyList<string>? Macs { get; init; }

    /// <summary>Short host name.</summary>
    public string? Hostname { get; init; }

    /// <summary>DNS domain.</summary>
    public string? Domain { get; init; }

    /// <summary>Static address with prefix, e.g. <c>10.0.0.21/24</c>; empty string removes it.</summary>
    public string? Ipv4 { get; init; }

    /// <summary>Default gateway.</summary>
    public string? Gateway { get; init; }

    /// <summary>DNS servers.</summary>
    public IReadOnlyList<string>? Dns { get; init; }

    /// <summary>Profile to assign.</summary>
    public string? Profile { get; init; }

    /// <summary><c>install</c> or <c>local</c>.</summary>
    public string? BootAction { get; init; }

    /// <summary>Machine variables (replace the stored ones when given).</summary>
    public IReadOnlyDictionary<string, object?>? Variables { get; init; }

    /// <summary>Machine kernel arguments (replace the stored ones when given).</summary>
    public IReadOnlyDictionary<string, string?>? KernelArgs { get; init; }

    /// <summary>Tags (replace the stored ones when given).</summary>
    public IReadOnlyList<string>? Tags { get; init; }

    /// <summary>
    /// Applies this input to <paramref name="existing"/> (or a new machine for <paramref name="mac"/>) and validates the result.
    /// </summary>
    public (Machine? Machine, IReadOnlyList<(string Field, string Message)> Errors) Apply(MacAddress mac, Machine? existing, SpecModel spec)
    {
        var errors = new List<(string, string)>();
        var m = existing ?? new Machine { Macs = [mac] };
        if (Macs is not null)
        {
            var macs = new List<MacAddress>();
            foreach (var text in Macs)
            {
                if (MacAddress.TryParse(text, out var parsed, out var error))
                {
                    if (!macs.Contains(parsed))
                    {
                        macs.Add(parsed);
                    }
                }
                else
                {
                    errors.Add(("macs", error));
                }
            }

            macs.Remove(mac);
            macs.Insert(0, mac);
            m = m with { Macs = macs };
        }

        if (Hostname is not null)
        {
            if (Hostname.Length == 0)
            {
                m = m with { Hostname = null };
            }
            else if (SpecNames.IsValidHostname(Hostname))
            {
                m = m with { Hostname = Hostname.ToLowerInvariant() };
            }
            else
            {
                errors.Add(("hostname", $"'{SpecNames.Clip(Hostname)}' is not a host name: use 1-63 letters, digits and '-', not starting or ending with '-' (put the domain in 'domain')"));
            }
        }

        if (Domain is not null)
        {
            if (Domain.Length == 0)
            {
                m = m with { Domain = null };
            }
            else if (SpecNames.IsValidDomain(Domain))
            {
                m = m with { Domain = Domain.ToLowerInvariant() };
            }
            else
            {
                errors.Add(("domain", $"'{SpecNames.Clip(Domain)}' is not a DNS domain: use dot-separated labels of letters, digits and '-'"));
            }
        }

        m = ApplyNetwork(m, errors);
        if (Profile is not null)
        {
            if (Profile.Length == 0)
            {
                m = m with { Profile = null };
            }
            else if (!spec.Profiles.ContainsKey(Profile))
            {
                var known = spec.Profiles.Keys.Order(StringComparer.Ordinal).ToList();
                errors.Add(("profile", $"profile '{SpecNames.Clip(Profile)}' does not exist; known profiles: {(known.Count == 0 ? "(none)" : string.Join(", ", known))}"));
            }
            else
            {
                m = m with { Profile = Profile };
            }
        }

        if (BootAction is not null)
        {
            switch (BootAction)
            {
                case "install":
                    m = m with { BootAction = Pxe.Profiles.Domain.BootAction.Install };
                    break;
                case "local":
                    m = m with { BootAction = Pxe.Profiles.Domain.BootAction.Local };
                    break;
                default:
                    errors.Add(("boot_action", $"'{SpecNames.Clip(BootAction)}' is not a boot action; use install or local"));
                    break;
            }
        }

        if (Variables is not null)
        {
            foreach (var key in Variables.Keys.Where(k => !SpecNames.IsValidVariable(k)))
            {
                errors.Add(($"variables.{SpecNames.Clip(key)}", SpecNames.VariableRule(key)));
            }

            m = m with { Variables = Variables };
        }

        if (KernelArgs is not null)
        {
            foreach (var (key, value) in KernelArgs)
            {
                var problem = KernelCommandLine.CheckArgument(key, value);
                if (problem is not null)
                {
                    errors.Add(($"kernel_args.{SpecNames.Clip(key)}", problem));
                }
            }

            m = m with { KernelArgs = KernelArgs };
        }

        if (Tags is not null)
        {
            foreach (var tag in Tags.Where(t => !SpecNames.IsValidTag(t)))
            {
                errors.Add(("tags", $"'{SpecNames.Clip(tag)}' is not a tag: use 1-64 letters, digits, '.', '_', '-', ':' or '='"));
            }

            m = m with { Tags = Tags.Distinct(StringComparer.Ordinal).ToList() };
        }

        if (m.BootAction == Pxe.Profiles.Domain.BootAction.Install && m.Profile is null)
        {
            errors.Add(("boot_action", "a machine can only be set to install once it has a profile; give 'profile' too"));
        }

        return errors.Count == 0 ? (m, errors) : (null, errors);
    }

    private Machine ApplyNetwork(Machine m, List<(string, string)> errors)
    {
        if (Ipv4 is null && Gateway is null && Dns is null)
        {
            return m;
        }

        if (Ipv4 == "")
        {
            return m with { IPv4 = null };
        }

        var current = m.IPv4;
        IPAddress? address = current?.Address;
        int prefix = current?.PrefixLength ?? 24;
        if (Ipv4 is not null)
        {
            var slash = Ipv4.IndexOf('/', StringComparison.Ordinal);
            var addrText = slash < 0 ? Ipv4 : Ipv4[..slash];
            if (!IPAddress.TryParse(addrText, out address) || address.AddressFamily != AddressFamily.InterNetwork || addrText.Count(c => c == '.') != 3)
            {
                errors.Add(("ipv4", $"'{SpecNames.Clip(Ipv4)}' is not an IPv4 address with prefix; write it like 10.0.0.21/24"));
                return m;
            }

            if (slash < 0 || !int.TryParse(Ipv4[(slash + 1)..], out prefix) || prefix is < 1 or > 32)
            {
                errors.Add(("ipv4", $"'{SpecNames.Clip(Ipv4)}' needs a prefix length from 1 to 32, like 10.0.0.21/24"));
                return m;
            }
        }

        if (address is null)
        {
            errors.Add(("ipv4", "gateway and dns need a static address; give ipv4 too (e.g. 10.0.0.21/24)"));
            return m;
        }

        var gateway = current?.Gateway;
        if (Gateway is not null)
        {
            gateway = null;
            if (Gateway.Length > 0 && (!IPAddress.TryParse(Gateway, out gateway) || gateway.AddressFamily != AddressFamily.InterNetwork))
            {
                errors.Add(("gateway", $"'{SpecNames.Clip(Gateway)}' is not an IPv4 address"));
            }
        }

        var dns = current?.Dns ?? [];
        if (Dns is not null)
        {
            var list = new List<IPAddress>();
            foreach (var d in Dns)
            {
                if (IPAddress.TryParse(d, out var a) && a.AddressFamily == AddressFamily.InterNetwork)
                {
                    list.Add(a);
                }
                else
                {
                    errors.Add(("dns", $"'{SpecNames.Clip(d)}' is not an IPv4 address"));
                }
            }

            dns = list;
        }

        return m with { IPv4 = new StaticIPv4 { Address = address, PrefixLength = prefix, Gateway = gateway, Dns = dns } };
    }
}
