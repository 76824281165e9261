using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;

namespace Pxe.Profiles.Spec;

/// <summary>The configuration client that takes a machine over on its first boot.</summary>
public enum HandoffClient
{
    /// <summary>No client: the first boot only reports that the machine is up.</summary>
    None,

    /// <summary>Puppet agent (<c>puppet agent --onetime</c>).</summary>
    Puppet,

    /// <summary>Chef Infra Client (<c>chef-client -o</c>).</summary>
    Chef,

    /// <summary>Salt minion (<c>salt-call state.apply</c>).</summary>
    Salt,

    /// <summary>Ansible in pull mode (<c>ansible-pull</c>).</summary>
    AnsiblePull,

    /// <summary>cloud-init with user-data from the profile (NoCloud seed).</summary>
    CloudInit,

    /// <summary>The site's own commands from the profile, run once by an interpreter (<c>/bin/sh</c> unless set).</summary>
    Shell,
}

/// <summary>One problem in a profile's <c>handoff:</c> mapping; <see cref="Field"/> is the key (<c>server</c>), the message says what to fix.</summary>
public sealed record HandoffError(string Field, string Message);

/// <summary>
/// A profile's first-boot hand-off, read from its resolved <c>handoff:</c> mapping: which configuration client the
/// installed system runs once on its first boot, and that client's parameters. Every client also takes
/// <c>timeout</c> (how long installing and running the client may take), and how to install the client when the
/// system does not have it yet: <c>package</c> (the distro package), <c>release_package</c> (a vendor repository's
/// release .rpm or .deb installed first) or <c>install_script</c> (a vendor installer script, instead of the package).
/// </summary>
/// <remarks>
/// The template variable <c>handoff</c> is built from these settings for each machine by <see cref="TemplateValue"/>;
/// its keys are listed in the README ("First-boot hand-off").
/// </remarks>
public abstract partial record HandoffSettings
{
    /// <summary>How long installing and running the client may take when <c>timeout</c> is not set.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(60);

    /// <summary>The shortest <c>timeout</c> accepted: a client cannot install and run in less.</summary>
    public static readonly TimeSpan MinTimeout = TimeSpan.FromMinutes(1);

    /// <summary>The longest <c>timeout</c> accepted: the install token that reports the result is valid for 24 h after done.</summary>
    public static readonly TimeSpan MaxTimeout = TimeSpan.FromHours(23);

    /// <summary>The largest <c>user_data</c> accepted (cloud-init reads more, but an install file is no place for it).</summary>
    public const int MaxUserDataLength = 64 * 1024;

    /// <summary>The largest shell client <c>script</c> accepted, the same bound as <see cref="MaxUserDataLength"/>.</summary>
    public const int MaxScriptLength = 64 * 1024;

    /// <summary>No hand-off: the first boot reports ok.</summary>
    public static readonly HandoffSettings None = new NoHandoff();

    /// <summary>The client names as written in a profile, in the order the documentation lists them.</summary>
    public static readonly IReadOnlyList<string> ClientNames = ["puppet", "chef", "salt", "ansible-pull", "cloud-init", "shell", "none"];

    /// <summary>Keys every client takes.</summary>
    public static readonly IReadOnlyList<string> CommonKeys = ["client", "timeout", "package", "release_package", "install_script"];

    /// <summary>The keys of each client (besides <see cref="CommonKeys"/>); the required ones first.</summary>
    public static readonly IReadOnlyDictionary<HandoffClient, IReadOnlyList<string>> ClientKeys = new Dictionary<HandoffClient, IReadOnlyList<string>>
    {
        [HandoffClient.None] = [],
        [HandoffClient.Puppet] = ["server", "environment", "certname", "service"],
        [HandoffClient.Chef] = ["server_url", "run_list", "validation_key", "validation_client_name", "node_name", "chef_license"],
        [HandoffClient.Salt] = ["master", "grains", "minion_id", "service"],
        [HandoffClient.AnsiblePull] = ["repository", "playbook", "branch"],
        [HandoffClient.CloudInit] = ["user_data"],
        [HandoffClient.Shell] = ["script", "interpreter"],
    };

    private static readonly IReadOnlyDictionary<HandoffClient, string> RequiredHelp = new Dictionary<HandoffClient, string>
    {
        [HandoffClient.None] = "",
        [HandoffClient.Puppet] = "server (required), environment (default production), certname (default the machine's fqdn), service (default true)",
        [HandoffClient.Chef] = "server_url and run_list (required), validation_key (the name of a secret variable holding the validator's PEM key), validation_client_name (default chef-validator), node_name (default the machine's fqdn), chef_license (accept, accept-silent or accept-no-persist)",
        [HandoffClient.Salt] = "master (required), grains (a mapping; the machine's role is added), minion_id (default the machine's fqdn), service (default true)",
        [HandoffClient.AnsiblePull] = "repository and playbook (required), branch (default main)",
        [HandoffClient.CloudInit] = "user_data (required: #cloud-config text)",
        [HandoffClient.Shell] = "script (required: the commands, as a YAML block: script: |), interpreter (default /bin/sh; an absolute path)",
    };

    /// <summary>The client.</summary>
    public abstract HandoffClient Client { get; }

    /// <summary>The client's name as a profile writes it (<c>ansible-pull</c>).</summary>
    public string ClientName => Name(Client);

    /// <summary>How long installing and running the client may take; past it the first boot reports failed.</summary>
    public TimeSpan Timeout { get; init; } = DefaultTimeout;

    /// <summary>The distro package that provides the client, installed when the client's command is missing.</summary>
    public string Package { get; init; } = "";

    /// <summary>URL of a vendor repository's release package (.rpm or .deb), installed before <see cref="Package"/>; "" when none.</summary>
    public string ReleasePackage { get; init; } = "";

    /// <summary>URL of a vendor installer script run with sh instead of installing <see cref="Package"/>; "" when none.</summary>
    public string InstallScript { get; init; } = "";

    /// <summary>The name a profile writes for <paramref name="client"/>.</summary>
    public static string Name(HandoffClient client) => client switch
    {
        HandoffClient.AnsiblePull => "ansible-pull",
        HandoffClient.CloudInit => "cloud-init",
        _ => client.ToString().ToLowerInvariant(),
    };

    /// <summary>
    /// Reads a resolved <c>handoff:</c> mapping. An empty mapping is <see cref="None"/>. Every problem is reported, each
    /// naming the key, what is allowed, and the profile the value came from.
    /// </summary>
    public static (HandoffSettings? Settings, IReadOnlyList<HandoffError> Errors) Parse(IReadOnlyDictionary<string, Sourced<object?>> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Count == 0)
        {
            return (None, []);
        }

        var errors = new List<HandoffError>();
        var r = new Reader(values, errors);
        if (!values.TryGetValue("client", out var clientValue))
        {
            var keys = string.Join(", ", values.Keys.Order(StringComparer.Ordinal));
            errors.Add(new("client", $"handoff sets {keys} but no client; add client: {string.Join(" | ", ClientNames)} " +
                "(client: none keeps the settings for profiles that inherit this one)"));
            return (null, errors);
        }

        var clientText = clientValue.Value as string;
        var client = ClientNames.Contains(clientText ?? "", StringComparer.Ordinal)
            ? Enum.GetValues<HandoffClient>().First(c => Name(c) == clientText)
            : (HandoffClient?)null;
        if (client is null)
        {
            errors.Add(new("client", $"'{Show(clientValue.Value)}' is not a configuration client; use one of {string.Join(", ", ClientNames)}{From(clientValue)}"));
            return (null, errors);
        }

        CheckKeys(values, client.Value, errors);
        var installsClient = client.Value != HandoffClient.Shell;
        var common = new Common(
            r.Timeout(),
            r.PackageName("package") ?? DefaultPackage(client.Value),
            installsClient ? r.Url("release_package", required: false, schemes: ["http", "https"], suffixes: [".rpm", ".deb"]) ?? "" : "",
            installsClient ? r.Url("install_script", required: false, schemes: ["http", "https"]) ?? "" : "");
        HandoffSettings settings = client.Value switch
        {
            HandoffClient.Puppet => new PuppetHandoff
            {
                Server = r.Host("server", required: true) ?? "",
                Environment = r.Matching("environment", PuppetEnvironment(), "a Puppet environment name: lowercase letters, digits and '_'") ?? "production",
                Certname = r.Matching("certname", Certname(), "a certificate name: lowercase letters, digits, '.', '_' and '-'"),
                Service = r.Boolean("service") ?? true,
            },
            HandoffClient.Chef => new ChefHandoff
            {
                ServerUrl = r.Url("server_url", required: true, schemes: ["http", "https"]) ?? "",
                RunList = r.RunList(),
                ValidationKey = r.VariableName("validation_key"),
                ValidationClientName = r.Matching("validation_client_name", NodeNamePattern(), "a Chef client name: letters, digits, '.', '_' and '-'") ?? "chef-validator",
                NodeName = r.Matching("node_name", NodeNamePattern(), "a Chef node name: letters, digits, '.', '_' and '-'"),
                ChefLicense = r.OneOf("chef_license", ["accept", "accept-silent", "accept-no-persist"]) ?? "",
            },
            HandoffClient.Salt => new SaltHandoff
            {
                Master = r.Host("master", required: true) ?? "",
                Grains = r.Grains(),
                MinionId = r.Matching("minion_id", NodeNamePattern(), "a minion id: letters, digits, '.', '_' and '-'"),
                Service = r.Boolean("service") ?? true,
            },
            HandoffClient.AnsiblePull => new AnsiblePullHandoff
            {
                Repository = r.Repository() ?? "",
                Playbook = r.Matching("playbook", Playbook(), "a playbook path inside the repository, such as site.yml or playbooks/web.yml (no '..', no leading '/' or '-')", required: true) ?? "",
                Branch = r.Matching("branch", Branch(), "a branch or tag name: letters, digits, '.', '_', '/' and '-', not starting with '-'") ?? "main",
            },
            HandoffClient.CloudInit => new CloudInitHandoff { UserData = r.UserData() ?? "" },
            HandoffClient.Shell => new ShellHandoff
            {
                Script = r.Script() ?? "",
                Interpreter = r.Matching("interpreter", Interpreter(), "an absolute path to an interpreter, such as /bin/sh, /bin/bash or /usr/bin/python3 " +
                    "(one path starting with '/', of letters, digits, '.', '_', '+' and '-'; no arguments)") ?? ShellHandoff.DefaultInterpreter,
            },
            _ => new NoHandoff(),
        };
        settings = settings with { Timeout = common.Timeout, Package = common.Package, ReleasePackage = common.ReleasePackage, InstallScript = common.InstallScript };
        if (settings.Client == HandoffClient.None && (common.ReleasePackage.Length > 0 || common.InstallScript.Length > 0 || common.Package.Length > 0))
        {
            // Kept for inheriting profiles; nothing is installed for client none.
            settings = settings with { Package = "", ReleasePackage = "", InstallScript = "" };
        }

        return errors.Count > 0 ? (null, errors) : (settings, []);
    }

    /// <summary>
    /// Problems of a machine's <c>role</c> variable for this client (Puppet needs it to name a class). <paramref name="role"/>
    /// is "" when the machine has none.
    /// </summary>
    public virtual string? CheckRole(string role) => null;

    /// <summary>
    /// The value of the template variable <c>handoff</c> for one machine: these settings with the machine's defaults
    /// filled in (certname, node name and minion id default to the fqdn; the role comes from the <c>role</c> variable).
    /// <paramref name="machine"/>'s <see cref="HandoffMachine.ValidationKey"/> is the secret key text when rendering, or
    /// null for views that must not show it (the key is then shown as <see cref="SecretVariables.Redacted"/>).
    /// </summary>
    public IReadOnlyDictionary<string, object?> TemplateValue(HandoffMachine machine)
    {
        ArgumentNullException.ThrowIfNull(machine);
        var values = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["client"] = ClientName,
            ["role"] = machine.Role,
            ["timeout"] = (long)Timeout.TotalSeconds,
            ["package"] = Package,
            ["release_package"] = ReleasePackage,
            ["install_script"] = InstallScript,
        };
        AddTemplateValues(values, machine);
        return values;
    }

    /// <summary>Adds the client's own keys to the template value.</summary>
    private protected abstract void AddTemplateValues(Dictionary<string, object?> values, HandoffMachine machine);

    private static string DefaultPackage(HandoffClient client) => client switch
    {
        HandoffClient.Puppet => "puppet-agent",
        HandoffClient.Chef => "chef",
        HandoffClient.Salt => "salt-minion",
        HandoffClient.AnsiblePull => "ansible-core",
        HandoffClient.CloudInit => "cloud-init",
        _ => "",
    };

    private static void CheckKeys(IReadOnlyDictionary<string, Sourced<object?>> values, HandoffClient client, List<HandoffError> errors)
    {
        var own = ClientKeys[client];
        foreach (var (key, value) in values.OrderBy(v => v.Key, StringComparer.Ordinal))
        {
            if (client == HandoffClient.Shell && key is ("release_package" or "install_script") && value.Value is not null)
            {
                errors.Add(new(key, $"the shell client installs no configuration client: its script runs with interpreter, which the system " +
                    $"must have (set package to the package that provides it, installed when it is missing); remove {key}, " +
                    $"or write '!{key}: ~' to drop the one inherited from {value.Source}"));
                continue;
            }

            if (CommonKeys.Contains(key, StringComparer.Ordinal) || own.Contains(key, StringComparer.Ordinal))
            {
                continue;
            }

            var owner = ClientKeys.Where(c => c.Value.Contains(key, StringComparer.Ordinal)).Select(c => c.Key).ToList();
            if (owner.Count > 0 && client == HandoffClient.None)
            {
                // client none may carry settings that inheriting profiles use with their own client.
                continue;
            }

            errors.Add(new(key, owner.Count > 0
                ? $"'{key}' is a {string.Join("/", owner.Select(Name))} setting, but the client is {Name(client)}; remove it, " +
                  $"or write '!{key}: ~' to drop the one inherited from {value.Source}"
                : $"unknown hand-off setting for client {Name(client)}{From(value)}; {Name(client)} takes " +
                  $"{(RequiredHelp[client].Length == 0 ? "only" : RequiredHelp[client] + ", and")} " +
                  (client == HandoffClient.Shell ? "timeout, package" : "timeout, package, release_package, install_script")));
        }
    }

    private static string From(Sourced<object?> value) => value.Source.StartsWith("profile:", StringComparison.Ordinal) ? $" (set in {value.Source})" : "";

    private static string Show(object? value) => value switch
    {
        null => "~",
        string s => SpecNames.Clip(s),
        IEnumerable<object?> => "a list",
        IReadOnlyDictionary<string, object?> => "a mapping",
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "",
    };

    [GeneratedRegex("^[a-z0-9_]+$")]
    private static partial Regex PuppetEnvironment();

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{0,252}$")]
    private static partial Regex Certname();

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$")]
    private static partial Regex NodeNamePattern();

    [GeneratedRegex("^[A-Za-z0-9_][A-Za-z0-9._/-]{0,254}$")]
    private static partial Regex Playbook();

    [GeneratedRegex("^[A-Za-z0-9_][A-Za-z0-9._/-]{0,254}$")]
    private static partial Regex Branch();

    [GeneratedRegex("^[a-z0-9][a-z0-9+.-]{0,127}$")]
    private static partial Regex PackageNamePattern();

    [GeneratedRegex("^(/[A-Za-z0-9._+-]+){1,32}$")]
    private static partial Regex Interpreter();

    [GeneratedRegex(@"^(recipe|role)\[[A-Za-z0-9_.:@-]+\]$|^[A-Za-z0-9_][A-Za-z0-9_.:@-]*$")]
    private static partial Regex RunListItem();

    [GeneratedRegex("^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[A-Za-z0-9._/~-]+$")]
    private static partial Regex ScpLikeRepository();

    /// <summary>
    /// Whether <paramref name="name"/> is a Puppet class name: lowercase words of letters, digits and '_', each starting with
    /// a letter, joined by <c>::</c> (https://www.puppet.com/docs/puppet/8/lang_reserved, "Classes and defined types").
    /// </summary>
    public static bool IsPuppetClass(string name) => PuppetClass().IsMatch(name ?? "");

    [GeneratedRegex("^(::)?[a-z][a-z0-9_]*(::[a-z][a-z0-9_]*)*$")]
    private static partial Regex PuppetClass();

    private sealed record Common(TimeSpan Timeout, string Package, string ReleasePackage, string InstallScript);

    /// <summary>Reads typed values out of the merged mapping, adding an error for each bad one.</summary>
    private sealed class Reader(IReadOnlyDictionary<string, Sourced<object?>> values, List<HandoffError> errors)
    {
        public string? Text(string key, bool required = false)
        {
            if (!values.TryGetValue(key, out var v) || v.Value is null)
            {
                if (required)
                {
                    errors.Add(new(key, $"is required; set handoff.{key}"));
                }

                return null;
            }

            if (v.Value is not (string or long or int))
            {
                errors.Add(new(key, $"must be one value, not {Show(v.Value)}{From(v)}"));
                return null;
            }

            var text = Convert.ToString(v.Value, CultureInfo.InvariantCulture) ?? "";
            if (text.Any(char.IsControl))
            {
                errors.Add(new(key, $"must be one line without control characters{From(v)}"));
                return null;
            }

            if (text.Length == 0 && required)
            {
                errors.Add(new(key, $"is required and may not be empty{From(v)}"));
                return null;
            }

            return text.Length == 0 ? null : text;
        }

        public string? Matching(string key, Regex pattern, string what, bool required = false)
        {
            var text = Text(key, required);
            if (text is not null && !pattern.IsMatch(text))
            {
                errors.Add(new(key, $"'{SpecNames.Clip(text)}' is not {what}{From(values[key])}"));
                return null;
            }

            return text;
        }

        public string? PackageName(string key) =>
            Matching(key, PackageNamePattern(), "a package name (lowercase letters, digits, '+', '.' and '-')");

        public string? OneOf(string key, string[] allowed)
        {
            var text = Text(key);
            if (text is not null && !allowed.Contains(text, StringComparer.Ordinal))
            {
                errors.Add(new(key, $"'{SpecNames.Clip(text)}' is not allowed; use one of {string.Join(", ", allowed)}{From(values[key])}"));
                return null;
            }

            return text;
        }

        public bool? Boolean(string key)
        {
            if (!values.TryGetValue(key, out var v) || v.Value is null)
            {
                return null;
            }

            if (v.Value is bool b)
            {
                return b;
            }

            errors.Add(new(key, $"must be true or false, not '{Show(v.Value)}'{From(v)}"));
            return null;
        }

        public TimeSpan Timeout()
        {
            if (!values.TryGetValue("timeout", out var v) || v.Value is null)
            {
                return DefaultTimeout;
            }

            var text = Convert.ToString(v.Value, CultureInfo.InvariantCulture) ?? "";
            if (v.Value is not (string or long or int) || !Durations.TryParse(text, out var t) || t < MinTimeout || t > MaxTimeout)
            {
                errors.Add(new("timeout", $"'{Show(v.Value)}' must be a duration from {Durations.Format(MinTimeout)} to {Durations.Format(MaxTimeout)}, " +
                    $"like 30m or 2h (a bare number is minutes){From(v)}"));
                return DefaultTimeout;
            }

            return t;
        }

        public string? Host(string key, bool required)
        {
            var text = Text(key, required);
            if (text is not null && !SpecNames.IsValidDomain(text) && !IPAddress.TryParse(text, out _))
            {
                errors.Add(new(key, $"'{SpecNames.Clip(text)}' is not a host name or IP address (no scheme, port or path: puppet.example.net){From(values[key])}"));
                return null;
            }

            return text;
        }

        public string? Url(string key, bool required, string[] schemes, string[]? suffixes = null)
        {
            var text = Text(key, required);
            if (text is null)
            {
                return null;
            }

            var ok = Uri.TryCreate(text, UriKind.Absolute, out var uri) && schemes.Contains(uri.Scheme, StringComparer.Ordinal)
                && uri.Host.Length > 0 && !text.Any(c => char.IsWhiteSpace(c) || c is '\'' or '"' or '\\' or '`');
            if (!ok)
            {
                errors.Add(new(key, $"'{SpecNames.Clip(text)}' is not an absolute {string.Join(" or ", schemes)} URL (without quotes, backslashes or spaces){From(values[key])}"));
                return null;
            }

            if (suffixes is not null && !suffixes.Any(s => uri!.AbsolutePath.EndsWith(s, StringComparison.Ordinal)))
            {
                errors.Add(new(key, $"'{SpecNames.Clip(text)}' must name a release package ending in {string.Join(" or ", suffixes)}, " +
                    $"e.g. https://yum.puppet.com/puppet8-release-el-9.noarch.rpm{From(values[key])}"));
                return null;
            }

            return text;
        }

        public string? Repository()
        {
            var text = Text("repository", required: true);
            if (text is null)
            {
                return null;
            }

            var url = Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme is "https" or "http" or "ssh" or "git" or "file"
                && !text.Any(char.IsWhiteSpace);
            if (!url && !ScpLikeRepository().IsMatch(text))
            {
                errors.Add(new("repository", $"'{SpecNames.Clip(text)}' is not a git repository URL: use https://, ssh://, git:// or file:// URLs, " +
                    $"or user@host:path{From(values["repository"])}"));
                return null;
            }

            return text;
        }

        public string? VariableName(string key)
        {
            var text = Text(key);
            if (text is not null && (!SpecNames.IsValidVariable(text) || text.StartsWith('!')))
            {
                errors.Add(new(key, $"'{SpecNames.Clip(text)}' must be the name of a secret variable that holds the key (e.g. chef_validation_key, " +
                    $"listed under secrets:), not the key itself{From(values[key])}"));
                return null;
            }

            return text;
        }

        public IReadOnlyList<string> RunList()
        {
            if (!values.TryGetValue("run_list", out var v) || v.Value is null)
            {
                errors.Add(new("run_list", "is required: a list of run-list items, e.g. [\"recipe[base]\", \"role[web]\"]"));
                return [];
            }

            if (v.Value is not IEnumerable<object?> list || v.Value is string)
            {
                errors.Add(new("run_list", $"must be a list of run-list items, e.g. [\"recipe[base]\", \"role[web]\"], not {Show(v.Value)}{From(v)}"));
                return [];
            }

            var items = list.Select(i => i as string).ToList();
            if (items.Count == 0)
            {
                errors.Add(new("run_list", $"is empty; name at least one recipe or role, e.g. [\"role[web]\"]{From(v)}"));
                return [];
            }

            var bad = items.Where(i => i is null || !RunListItem().IsMatch(i)).ToList();
            if (bad.Count > 0)
            {
                errors.Add(new("run_list", $"{string.Join(", ", bad.Select(b => b is null ? "a non-text item" : $"'{SpecNames.Clip(b)}'"))} " +
                    $"{(bad.Count == 1 ? "is not a run-list item" : "are not run-list items")}; write recipe[name], role[name] or a bare recipe name{From(v)}"));
                return [];
            }

            return items!;
        }

        public IReadOnlyDictionary<string, object?> Grains()
        {
            if (!values.TryGetValue("grains", out var v) || v.Value is null)
            {
                return new Dictionary<string, object?>(StringComparer.Ordinal);
            }

            if (v.Value is not IReadOnlyDictionary<string, object?> map)
            {
                errors.Add(new("grains", $"must be a mapping of grain names to values, e.g. {{datacenter: fra1}}, not {Show(v.Value)}{From(v)}"));
                return new Dictionary<string, object?>(StringComparer.Ordinal);
            }

            var problem = CheckGrains(map, "grains", 0);
            if (problem is not null)
            {
                errors.Add(new("grains", problem + From(v)));
            }

            return map;
        }

        public string? UserData()
        {
            if (!values.TryGetValue("user_data", out var v) || v.Value is not string text || text.Trim().Length == 0)
            {
                errors.Add(new("user_data", "is required: cloud-init user-data text starting with #cloud-config (write it as a YAML block: user_data: |)"));
                return null;
            }

            if (text.Length > MaxUserDataLength)
            {
                errors.Add(new("user_data", $"is {text.Length} characters; at most {MaxUserDataLength} are accepted{From(v)}"));
                return null;
            }

            string[] starts = ["#cloud-config", "#!", "#include", "#cloud-boothook", "#part-handler", "## template: jinja", "Content-Type: multipart/"];
            if (!starts.Any(s => text.StartsWith(s, StringComparison.Ordinal)))
            {
                errors.Add(new("user_data", $"must start with a cloud-init format header: {string.Join(", ", starts)} " +
                    $"(usually #cloud-config on the first line){From(v)}"));
                return null;
            }

            if (text.Contains('\0', StringComparison.Ordinal))
            {
                errors.Add(new("user_data", $"contains a NUL character{From(v)}"));
                return null;
            }

            return text;
        }

        public string? Script()
        {
            const string Help = "the shell commands to run once on the first boot, written as a YAML block (script: |, then the commands indented below it)";
            if (!values.TryGetValue("script", out var v) || v.Value is null)
            {
                errors.Add(new("script", $"is required: {Help}"));
                return null;
            }

            if (v.Value is not string text)
            {
                errors.Add(new("script", $"must be text, not {Show(v.Value)}: {Help}{From(v)}"));
                return null;
            }

            if (text.Trim().Length == 0)
            {
                errors.Add(new("script", $"is empty; write {Help}{From(v)}"));
                return null;
            }

            if (text.Length > MaxScriptLength)
            {
                errors.Add(new("script", $"is {text.Length} characters; at most {MaxScriptLength} are accepted (a longer script can be fetched " +
                    $"and run by a short one, e.g. curl -fsS https://files.example.net/firstboot.sh | sh){From(v)}"));
                return null;
            }

            if (text.Contains('\0', StringComparison.Ordinal))
            {
                errors.Add(new("script", $"contains a NUL character; a script is text{From(v)}"));
                return null;
            }

            return text;
        }

        private static string? CheckGrains(IReadOnlyDictionary<string, object?> map, string path, int depth)
        {
            if (depth > 4)
            {
                return $"{path} nests deeper than 4 levels";
            }

            foreach (var (key, value) in map)
            {
                if (!SpecNames.IsValidVariable(key) || key.StartsWith('!'))
                {
                    return $"'{SpecNames.Clip(key)}' in {path} is not a grain name: use letters, digits and '_', starting with a letter or '_'";
                }

                var problem = value switch
                {
                    null or bool or long or int or double => null,
                    string s => s.Any(char.IsControl) ? $"{path}.{key} must be one line without control characters" : null,
                    IReadOnlyDictionary<string, object?> inner => CheckGrains(inner, $"{path}.{key}", depth + 1),
                    IEnumerable<object?> list => list.Any(i => i is not (null or bool or long or int or double or string) || (i is string t && t.Any(char.IsControl)))
                        ? $"{path}.{key} may only list single-line values"
                        : null,
                    _ => $"{path}.{key} has a value of an unsupported kind",
                };
                if (problem is not null)
                {
                    return problem;
                }
            }

            return null;
        }
    }
}

/// <summary>What a machine contributes to its hand-off values.</summary>
/// <param name="Fqdn">The machine's fully qualified name (<c>web01.example.net</c>, or the host name without a domain).</param>
/// <param name="Role">The machine's <c>role</c> variable, or "" when it has none.</param>
/// <param name="ValidationKey">The Chef validator's key text when rendering an install file; null in views that must not show it.</param>
public sealed record HandoffMachine(string Fqdn, string Role, string? ValidationKey = null);

/// <summary>No configuration client: the first boot only reports ok.</summary>
public sealed record NoHandoff : HandoffSettings
{
    /// <inheritdoc />
    public override HandoffClient Client => HandoffClient.None;

    private protected override void AddTemplateValues(Dictionary<string, object?> values, HandoffMachine machine)
    {
    }
}

/// <summary>Puppet agent: <c>puppet agent --onetime --no-daemonize --waitforcert</c> against <see cref="Server"/>.</summary>
public sealed record PuppetHandoff : HandoffSettings
{
    /// <inheritdoc />
    public override HandoffClient Client => HandoffClient.Puppet;

    /// <summary>The Puppet server's host name.</summary>
    public required string Server { get; init; }

    /// <summary>The Puppet environment (<c>production</c> unless set).</summary>
    public string Environment { get; init; } = "production";

    /// <summary>The agent's certificate name; null means the machine's fqdn, lower-cased.</summary>
    public string? Certname { get; init; }

    /// <summary>Whether the puppet service is enabled and started after the first run (default true).</summary>
    public bool Service { get; init; } = true;

    /// <summary>The certname a machine with <paramref name="fqdn"/> uses.</summary>
    public string CertnameFor(string fqdn) => Certname ?? fqdn.ToLowerInvariant();

    /// <inheritdoc />
    public override string? CheckRole(string role) => RoleProblem(role);

    /// <summary>
    /// Why <paramref name="role"/> cannot name the Puppet class <c>role::&lt;role&gt;</c>, or null ("" is no role, which is fine).
    /// The external node classifier applies that class.
    /// </summary>
    public static string? RoleProblem(string role)
    {
        ArgumentNullException.ThrowIfNull(role);
        return role.Length == 0 || IsPuppetClass(role) && !role.Contains("::", StringComparison.Ordinal)
            ? null
            : $"role '{SpecNames.Clip(role)}' cannot name the Puppet class role::{SpecNames.Clip(role)}; use lowercase letters, digits and '_', starting with a letter";
    }

    private protected override void AddTemplateValues(Dictionary<string, object?> values, HandoffMachine machine)
    {
        values["server"] = Server;
        values["environment"] = Environment;
        values["certname"] = CertnameFor(machine.Fqdn);
        values["service"] = Service;
    }
}

/// <summary>Chef Infra Client: <c>chef-client -j first-boot.json -o run_list</c> against <see cref="ServerUrl"/>.</summary>
public sealed record ChefHandoff : HandoffSettings
{
    /// <inheritdoc />
    public override HandoffClient Client => HandoffClient.Chef;

    /// <summary>The Chef server URL, including the organization (<c>https://chef.example.net/organizations/ops</c>).</summary>
    public required string ServerUrl { get; init; }

    /// <summary>Run-list items (<c>recipe[base]</c>, <c>role[web]</c>).</summary>
    public required IReadOnlyList<string> RunList { get; init; }

    /// <summary>The name of the secret variable that holds the validator's private key (PEM); null when the node is pre-registered.</summary>
    public string? ValidationKey { get; init; }

    /// <summary>The validator client's name (<c>chef-validator</c> unless set).</summary>
    public string ValidationClientName { get; init; } = "chef-validator";

    /// <summary>The node name; null means the machine's fqdn.</summary>
    public string? NodeName { get; init; }

    /// <summary>Chef's license acceptance (<c>accept</c>, <c>accept-silent</c>, <c>accept-no-persist</c>), or "" to leave it to the client.</summary>
    public string ChefLicense { get; init; } = "";

    private protected override void AddTemplateValues(Dictionary<string, object?> values, HandoffMachine machine)
    {
        values["server_url"] = ServerUrl;
        values["run_list"] = RunList.Cast<object?>().ToList();
        values["run_list_text"] = string.Join(",", RunList);
        values["node_name"] = NodeName ?? machine.Fqdn;
        values["validation_client_name"] = ValidationClientName;
        values["validation_key"] = ValidationKey is null ? "" : machine.ValidationKey ?? SecretVariables.Redacted;
        values["chef_license"] = ChefLicense;
        values["first_boot_json"] = System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, IReadOnlyList<string>> { ["run_list"] = RunList });
    }
}

/// <summary>Salt minion: <c>salt-call state.apply</c> against <see cref="Master"/>, with grains.</summary>
public sealed record SaltHandoff : HandoffSettings
{
    /// <inheritdoc />
    public override HandoffClient Client => HandoffClient.Salt;

    /// <summary>The Salt master's host name.</summary>
    public required string Master { get; init; }

    /// <summary>Grains written to /etc/salt/grains; the machine's role is added as <c>role</c>.</summary>
    public IReadOnlyDictionary<string, object?> Grains { get; init; } = new Dictionary<string, object?>();

    /// <summary>The minion id; null means the machine's fqdn.</summary>
    public string? MinionId { get; init; }

    /// <summary>Whether the salt-minion service is enabled and started after the first run (default true).</summary>
    public bool Service { get; init; } = true;

    private protected override void AddTemplateValues(Dictionary<string, object?> values, HandoffMachine machine)
    {
        var grains = new Dictionary<string, object?>(Grains, StringComparer.Ordinal);
        if (machine.Role.Length > 0)
        {
            grains["role"] = machine.Role;
        }

        values["master"] = Master;
        values["minion_id"] = MinionId ?? machine.Fqdn;
        values["grains"] = grains;
        values["grains_yaml"] = HandoffYaml.Write(grains);
        values["service"] = Service;
    }
}

/// <summary>Ansible in pull mode: <c>ansible-pull -U repository -C branch playbook</c>.</summary>
public sealed record AnsiblePullHandoff : HandoffSettings
{
    /// <inheritdoc />
    public override HandoffClient Client => HandoffClient.AnsiblePull;

    /// <summary>The git repository holding the playbook.</summary>
    public required string Repository { get; init; }

    /// <summary>The playbook's path inside the repository.</summary>
    public required string Playbook { get; init; }

    /// <summary>The branch or tag checked out (<c>main</c> unless set).</summary>
    public string Branch { get; init; } = "main";

    private protected override void AddTemplateValues(Dictionary<string, object?> values, HandoffMachine machine)
    {
        values["repository"] = Repository;
        values["playbook"] = Playbook;
        values["branch"] = Branch;
        values["extra_vars"] = System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, string> { ["pxe_role"] = machine.Role });
    }
}

/// <summary>cloud-init run once with <see cref="UserData"/> as a NoCloud seed.</summary>
public sealed record CloudInitHandoff : HandoffSettings
{
    /// <inheritdoc />
    public override HandoffClient Client => HandoffClient.CloudInit;

    /// <summary>The user-data text (usually <c>#cloud-config</c> YAML).</summary>
    public required string UserData { get; init; }

    private protected override void AddTemplateValues(Dictionary<string, object?> values, HandoffMachine machine)
    {
        values["user_data"] = UserData;
        values["user_data_base64"] = Convert.ToBase64String(new System.Text.UTF8Encoding(false).GetBytes(UserData));
    }
}

/// <summary>
/// The site's own first-boot commands, for sites without a configuration-management server: <see cref="Script"/> run
/// once by <see cref="Interpreter"/>, whose exit status decides ok or failed.
/// </summary>
public sealed record ShellHandoff : HandoffSettings
{
    /// <summary>The interpreter when <c>interpreter</c> is not set.</summary>
    public const string DefaultInterpreter = "/bin/sh";

    /// <inheritdoc />
    public override HandoffClient Client => HandoffClient.Shell;

    /// <summary>The commands, as the profile writes them (at most <see cref="HandoffSettings.MaxScriptLength"/> characters).</summary>
    public required string Script { get; init; }

    /// <summary>The absolute path of the program that runs <see cref="Script"/> (<c>/bin/sh</c> unless set).</summary>
    public string Interpreter { get; init; } = DefaultInterpreter;

    private protected override void AddTemplateValues(Dictionary<string, object?> values, HandoffMachine machine)
    {
        values["script"] = Script;
        values["script_base64"] = Convert.ToBase64String(new System.Text.UTF8Encoding(false).GetBytes(Script));
        values["interpreter"] = Interpreter;
    }
}
