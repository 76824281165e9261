using Pxe.Profiles.Domain;
using Pxe.Profiles.Spec;

namespace Pxe.Profiles.Tests.Spec;

public class SecretVariablesTests
{
    [Theory]
    [InlineData("root_password_hash", true)]
    [InlineData("bmc_passwd", true)]
    [InlineData("puppet_psk", true)]
    [InlineData("install_token", true)]
    [InlineData("ssh_private_key", true)]
    [InlineData("ssh_authorized_keys", false)]
    [InlineData("timezone", false)]
    public void SecretByName(string name, bool secret) => Assert.Equal(secret, SecretVariables.IsSecret(name));

    [Fact]
    public void DeclaredSecrets_AreInheritedThroughTheChain_AndRedacted()
    {
        var spec = ProfileResolverTests.Model(
            new Profile { Name = "base", Distro = "rocky9", Secrets = ["chef_validator"], Variables = new Dictionary<string, object?> { ["chef_validator"] = "-----BEGIN" } },
            new Profile { Name = "web", Parent = "base", Secrets = ["api_key_web"] });
        var (p, _) = ProfileResolver.Resolve(spec, "web");
        Assert.Equal(["api_key_web", "chef_validator"], p!.Secrets.Order());
        var redacted = SecretVariables.Redact(new Dictionary<string, object?> { ["chef_validator"] = "-----BEGIN", ["role"] = "web", ["root_password"] = null }, p.Secrets);
        Assert.Equal(SecretVariables.Redacted, redacted["chef_validator"]);
        Assert.Equal("web", redacted["role"]);
        Assert.Null(redacted["root_password"]);
    }

    [Fact]
    public void SecretsList_RoundTripsThroughYaml_AndRejectsBadNames()
    {
        var r = SpecYaml.Read("kind: profile\nname: p\ndistro: d\nsecrets: [a_key, b]\n", "p.yaml");
        Assert.Equal(["a_key", "b"], r.Profile!.Secrets);
        Assert.Contains("secrets:", SpecYaml.Write(r.Profile));
        var bad = SpecYaml.Read("kind: profile\nname: p\ndistro: d\nsecrets: [\"9x\"]\n", "p.yaml");
        Assert.Equal("secrets", Assert.Single(bad.Errors).Field);
        var notList = SpecYaml.Read("kind: profile\nname: p\ndistro: d\nsecrets: abc\n", "p.yaml");
        Assert.Contains("list of variable names", Assert.Single(notList.Errors).Message);
    }
}
