using Pxe.Profiles.Domain;

namespace Pxe.Profiles.Rendering;

/// <summary>
/// The kernel arguments each installer family needs to find its install file; they come after the distro's and
/// profiles' own arguments, and a profile can still remove one with <c>!key</c> at the machine level.
/// </summary>
public static class InstallerArguments
{
    /// <summary>The arguments for <paramref name="breed"/> (values are URLs already built for the machine).</summary>
    public static IReadOnlyList<KeyValuePair<string, string?>> For(DistroBreed breed, string installUrl, string installBaseUrl, string hostname, string domain) =>
        breed switch
        {
            // Anaconda: https://anaconda-installer.readthedocs.io (inst.ks)
            DistroBreed.Redhat => [new("inst.ks", installUrl)],
            // debian-installer: auto mode asks only critical questions; the preseed names the rest.
            DistroBreed.Debian =>
            [
                new("auto", "true"), new("priority", "critical"), new("url", installUrl),
                new("netcfg/get_hostname", hostname), new("netcfg/get_domain", domain.Length == 0 ? "unassigned-domain" : domain),
            ],
            // subiquity: NoCloud datasource; cloud-init appends user-data / meta-data to s=.
            DistroBreed.Ubuntu => [new("autoinstall", null), new("ds", "nocloud-net;s=" + installBaseUrl)],
            DistroBreed.Suse => [new("autoyast", installUrl)],
            DistroBreed.Coreos => [new("ignition.config.url", installUrl), new("ignition.firstboot", null), new("ignition.platform.id", "metal")],
            _ => [new("pxe.install", installUrl)],
        };
}
