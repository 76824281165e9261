using System.Globalization;
using Pxe.Profiles.Domain;
using Pxe.Profiles.Spec;
using Pxe.Profiles.Templates;

namespace Pxe.Profiles.Rendering;

/// <summary>Which boot-loader file to render.</summary>
public enum BootFileKind
{
    /// <summary>iPXE script.</summary>
    Ipxe,

    /// <summary>pxelinux config.</summary>
    Pxelinux,

    /// <summary>GRUB config.</summary>
    Grub,
}

/// <summary>The result of rendering one file for one machine.</summary>
public sealed record RenderOutcome(string? Text, string? Error, bool NotFound = false, bool Forbidden = false)
{
    /// <summary>True when <see cref="Text"/> holds the file.</summary>
    public bool Succeeded => Text is not null;
}

/// <summary>
/// Renders a machine's files: its boot-loader config (iPXE, pxelinux, GRUB) and its install files. The variables are
/// layered machine &gt; profile &gt; parent profiles &gt; distro &gt; server globals, and every value keeps its source.
/// </summary>
public sealed class MachineRenderer(TemplateLibrary templates, RenderSettings settings)
{
    /// <summary>The template library this renderer uses.</summary>
    public TemplateLibrary Templates { get; } = templates;

    /// <summary>The server settings this renderer uses.</summary>
    public RenderSettings Settings { get; } = settings;

    /// <summary>
    /// Every variable a render of <paramref name="machine"/> sees, with its source. <paramref name="profile"/> is null
    /// for a machine without one (only the machine and server values are defined then).
    /// </summary>
    public Dictionary<string, Sourced<object?>> Variables(Machine machine, ResolvedProfile? profile, MacAddress bootMac, string? installToken)
    {
        var layers = new List<(IReadOnlyDictionary<string, object?>, string)> { (Settings.Globals, "server") };
        if (profile is not null)
        {
            layers.Add((profile.Variables.ToDictionary(v => v.Key, v => v.Value.Value), "profile"));
        }

        layers.Add((machine.Variables, "machine"));
        var result = ProfileResolver.MergeValues(layers);
        if (profile is not null)
        {
            // Keep the precise provenance (profile:web, distro:rhel9) instead of the layer's name.
            foreach (var (key, value) in profile.Variables)
            {
                if (result.TryGetValue(key, out var merged) && merged.Source == "profile")
                {
                    result[key] = value;
                }
            }
        }

        var server = Settings.ServerUrl;
        var mac = bootMac.ToString();
        var token = installToken ?? "";
        var baseUrl = installToken is null ? $"{server}/boot/{mac}/" : $"{server}/boot/{mac}/t/{installToken}/";
        var hostname = machine.Hostname ?? "host-" + bootMac.ToHyphenString();
        var domain = machine.Domain ?? "";
        void Set(string name, object? value, string source) => result[name] = new(value, source);
        Set("server_url", server, "server");
        Set("next_server", Settings.NextServer, "server");
        Set("mac", mac, "machine");
        Set("mac_hyphen", bootMac.ToHyphenString(), "machine");
        Set("hostname", hostname, machine.Hostname is null ? "default" : "machine");
        Set("domain", domain, "machine");
        Set("fqdn", domain.Length == 0 ? hostname : $"{hostname}.{domain}", "machine");
        Set("ip", machine.IPv4?.Address.ToString() ?? "", "machine");
        Set("prefix", machine.IPv4 is null ? "" : machine.IPv4.PrefixLength.ToString(CultureInfo.InvariantCulture), "machine");
        Set("netmask", machine.IPv4?.Netmask.ToString() ?? "", "machine");
        Set("gateway", machine.IPv4?.Gateway?.ToString() ?? "", "machine");
        Set("dns", (machine.IPv4?.Dns ?? []).Select(d => (object?)d.ToString()).ToList(), "machine");
        Set("boot_action", machine.BootAction == BootAction.Install ? "install" : "local", "machine");
        Set("profile", machine.Profile ?? "none", "machine");
        Set("install_token", token, "install");
        Set("install_base_url", baseUrl, "server");
        Set("install_url", baseUrl + "install", "server");
        Set("done_url", baseUrl + "done", "server");
        Set("events_url", baseUrl + "events", "server");
        // The hand-off as views may show it (a Chef validation key redacted); a render fills the key in (see Render).
        if (HandoffVariable.Build(profile, result, includeSecrets: false) is ({ } handoff, _))
        {
            Set(HandoffVariable.Name, handoff, profile?.Handoff.GetValueOrDefault("client")?.Source ?? "default");
        }

        if (profile is null)
        {
            return result;
        }

        var distro = profile.Distro;
        var distroSource = $"distro:{distro.Name}";
        Set("profile", profile.Name, profile.Name == machine.Profile ? "machine" : "server");
        Set("distro", new Dictionary<string, object?>
        {
            ["name"] = distro.Name,
            ["arch"] = distro.Arch,
            ["breed"] = distro.Breed.ToString().ToLowerInvariant(),
            ["kernel"] = distro.Kernel,
            ["initrd"] = distro.Initrd,
            ["install_tree"] = distro.InstallTree ?? "",
        }, distroSource);
        var initrdUrl = FileUrl(distro.Initrd);
        Set("kernel_url", FileUrl(distro.Kernel), distroSource);
        Set("initrd_url", initrdUrl, distroSource);
        var initrdName = InitrdName(initrdUrl);
        Set("initrd_name", initrdName, distroSource);
        return result;
    }

    /// <summary>
    /// The machine's kernel command line: distro, profiles, then the installer's own arguments, then the machine's,
    /// then <c>initrd=</c> (UEFI iPXE needs it to hand the initrd to Linux; BIOS ignores it).
    /// </summary>
    public string KernelArgs(Machine machine, ResolvedProfile profile, IReadOnlyDictionary<string, Sourced<object?>> variables) =>
        KernelArgs(machine, profile, variables, withInitrd: true);

    /// <summary>
    /// The kernel command line, with or without the trailing <c>initrd=</c>: pxelinux and GRUB load the initrd
    /// themselves, and pxelinux would take an <c>initrd=</c> on its APPEND line as the file to load.
    /// </summary>
    public string KernelArgs(Machine machine, ResolvedProfile profile, IReadOnlyDictionary<string, Sourced<object?>> variables, bool withInitrd)
    {
        string Str(string name) => variables[name].Value as string ?? "";
        var installer = InstallerArguments.For(profile.Distro.Breed, Str("install_url"), Str("install_base_url"), Str("hostname"), Str("domain"));
        var merged = ProfileResolver.MergeKernelArgs(
        [
            (profile.KernelArgs.ToDictionary(a => a.Key, a => a.Value.Value), "profile"),
            (installer.ToDictionary(a => a.Key, a => a.Value), "installer"),
            (machine.KernelArgs, "machine"),
            (withInitrd ? new Dictionary<string, string?> { ["initrd"] = Str("initrd_name") } : new Dictionary<string, string?>(), "server"),
        ]);
        return KernelCommandLine.Format(merged.Select(a => new KeyValuePair<string, string?>(a.Key, a.Value.Value)));
    }

    /// <summary>Renders the boot-loader file for a machine (its boot action decides install or local).</summary>
    public RenderOutcome RenderBoot(BootFileKind kind, Machine machine, ResolvedProfile? profile, MacAddress bootMac, string? installToken)
    {
        var template = kind switch
        {
            BootFileKind.Ipxe => BootTemplates.Ipxe,
            BootFileKind.Pxelinux => BootTemplates.Pxelinux,
            _ => BootTemplates.Grub,
        };
        if (machine.BootAction == BootAction.Install && profile is null)
        {
            return new RenderOutcome(null, $"machine {bootMac} is set to install but has no profile; assign one with PUT /api/v1/machines/{bootMac}");
        }

        var variables = Variables(machine, profile, bootMac, installToken);
        return Render(template, machine, profile, variables);
    }

    /// <summary>
    /// Renders one of the machine's install files: <c>install</c> is the profile's install template; any other
    /// name is a template beside it (e.g. <c>user-data</c> and <c>meta-data</c> of an autoinstall folder).
    /// </summary>
    public RenderOutcome RenderInstallFile(Machine machine, ResolvedProfile profile, string file, MacAddress bootMac, string? installToken) =>
        RenderInstallFile(machine, profile, file, bootMac, installToken, out _);

    /// <summary>
    /// <see cref="RenderInstallFile(Machine, ResolvedProfile, string, MacAddress, string?)"/>, also telling what the render
    /// asked the image library (<paramref name="image"/>, null when it asked nothing): besides its arguments and this
    /// renderer, the only input of the text.
    /// </summary>
    internal RenderOutcome RenderInstallFile(Machine machine, ResolvedProfile profile, string file, MacAddress bootMac, string? installToken, out ImageLookup? image)
    {
        image = null;
        if (profile.InstallTemplate is null)
        {
            return new RenderOutcome(null, $"profile '{profile.Name}' has no install template", NotFound: true);
        }

        var main = profile.InstallTemplate.Value;
        string template;
        if (file == "install")
        {
            template = main;
        }
        else
        {
            var slash = main.LastIndexOf('/');
            template = (slash < 0 ? "" : main[..(slash + 1)]) + file;
            if (file.Contains('/') || file.StartsWith('.') || !Templates.Exists(template))
            {
                return new RenderOutcome(null,
                    $"profile '{profile.Name}' has no install file '{file}'; it has 'install' and the templates beside {main}", NotFound: true);
            }
        }

        return Render(template, machine, profile, Variables(machine, profile, bootMac, installToken), out image);
    }

    private RenderOutcome Render(string template, Machine machine, ResolvedProfile? profile, Dictionary<string, Sourced<object?>> variables) =>
        Render(template, machine, profile, variables, out _);

    private RenderOutcome Render(string template, Machine machine, ResolvedProfile? profile, Dictionary<string, Sourced<object?>> variables, out ImageLookup? image)
    {
        image = null;
        if (profile is not null)
        {
            try
            {
                variables["kernel_args"] = new(KernelArgs(machine, profile, variables), "resolved");
                variables["kernel_cmdline"] = new(KernelArgs(machine, profile, variables, withInitrd: false), "resolved");
            }
            catch (KernelCommandLineException e)
            {
                return new RenderOutcome(null, e.Message);
            }
        }

        // "Install image X" (see ImageVariable): image_file and its siblings from the library; an error only when the template needs them.
        if (ImageVariable.Apply(Settings.Images, variables, Templates.Exists(template) ? Templates.RequiredVariables(template) : null, out image) is { } imageError)
        {
            return new RenderOutcome(null, imageError);
        }

        if (Templates.Exists(template) && Templates.RequiredVariables(template).Contains(HandoffVariable.Name))
        {
            var (handoff, error) = HandoffVariable.Build(profile, variables, includeSecrets: true);
            if (handoff is null)
            {
                return new RenderOutcome(null, error);
            }

            variables[HandoffVariable.Name] = new(handoff, variables.TryGetValue(HandoffVariable.Name, out var shown) ? shown.Source : "default");
        }

        var values = new Dictionary<string, object?>(variables.Count, StringComparer.Ordinal);
        foreach (var (k, v) in variables)
        {
            values[k] = v.Value;
        }

        var result = Templates.Render(template, values);
        return result.Succeeded ? new RenderOutcome(result.Text, null) : new RenderOutcome(null, result.Error!.ToString());
    }

    /// <summary>An http URL for a distro file: absolute URLs pass through, relative paths are served from /files.</summary>
    public string FileUrl(string location) =>
        location.StartsWith("http://", StringComparison.Ordinal) || location.StartsWith("https://", StringComparison.Ordinal)
            ? location
            : $"{Settings.ServerUrl}/files/{location}";

    private static string InitrdName(string url)
    {
        var path = url;
        var q = path.IndexOfAny(['?', '#']);
        if (q >= 0)
        {
            path = path[..q];
        }

        var slash = path.LastIndexOf('/');
        return slash < 0 ? path : path[(slash + 1)..];
    }
}
