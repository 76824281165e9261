using Pxe.Images.Roles;
using Pxe.Images.Tests.Support;

namespace Pxe.Images.Tests.Roles;

public sealed class RoleYamlTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    private RoleYaml.ReadResult Read(string yaml) => RoleYaml.Read(yaml, "roles/web.yaml", _temp.Path);

    [Fact]
    public void ValidRole_ReadsEveryField()
    {
        File.WriteAllText(_temp.Combine("hello.sh"), "#!/bin/sh\n");
        var result = Read("""
            kind: role
            name: web
            description: nginx
            packages: [nginx, "curl=7.88.1-10+deb12u5"]
            users:
              - name: deploy
                uid: 1500
                groups: [sudo, adm]
                create_groups: true
                shell: /bin/bash
                ssh_authorized_keys:
                  - ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKey deploy@example
            files:
              - path: /etc/motd
                content: "hello\n"
              - path: /usr/local/bin/hello
                source: hello.sh
                mode: "0755"
                owner: deploy:deploy
            units:
              - nginx.service
              - name: hello.service
                enable: false
                content: |
                  [Service]
                  ExecStart=/usr/local/bin/hello
            """);

        Assert.Empty(result.Errors);
        var role = result.Role!;
        Assert.Equal("web", role.Name);
        Assert.Equal(["nginx", "curl=7.88.1-10+deb12u5"], role.Packages);
        var user = Assert.Single(role.Users);
        Assert.Equal((1500, "/bin/bash", true), (user.Uid!.Value, user.Shell, user.CreateGroups));
        Assert.Equal(["sudo", "adm"], user.Groups);
        Assert.Single(user.SshAuthorizedKeys);
        Assert.Equal("hello\n", role.Files[0].Content);
        Assert.Equal((UnixFileMode)Convert.ToInt32("644", 8), role.Files[0].Mode);
        Assert.Equal("root:root", role.Files[0].Owner);
        Assert.Equal(_temp.Combine("hello.sh"), role.Files[1].Source);
        Assert.Equal((UnixFileMode)Convert.ToInt32("755", 8), role.Files[1].Mode);
        Assert.Equal(new RoleUnit { Name = "nginx.service" }, role.Units[0]);
        Assert.False(role.Units[1].Enable);
        Assert.Contains("[Service]", role.Units[1].Content, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("kind: role\nname: web\npackage: [nginx]\n", 3, "package", "did you mean 'packages'?")]
    [InlineData("kind: role\nname: Web Server\n", 2, "name", "'Web Server' is not a role name")]
    [InlineData("kind: profile\nname: web\n", 1, "kind", "'profile' is not 'role'")]
    [InlineData("name: web\n", 1, "kind", "start the file with 'kind: role'")]
    [InlineData("kind: role\nname: web\npackages: [nginx, 'Bad Pkg']\n", 3, "packages", "'Bad Pkg' is not a Debian package name")]
    [InlineData("kind: role\nname: web\npackages: nginx\n", 3, "packages", "must be a list")]
    [InlineData("kind: role\nname: web\nfiles:\n  - path: /etc/motd\n    content: x\n    mode: 644x\n", 6, "files.mode", "write it quoted, e.g. \"0644\"")]
    [InlineData("kind: role\nname: web\nfiles:\n  - path: etc/motd\n    content: x\n", 4, "files.path", "'etc/motd' is not an absolute file path")]
    [InlineData("kind: role\nname: web\nfiles:\n  - path: /etc/../../x\n    content: x\n", 4, "files.path", "without '..'")]
    [InlineData("kind: role\nname: web\nfiles:\n  - path: /etc/motd\n", 4, "files", "give exactly one of 'content:'")]
    [InlineData("kind: role\nname: web\nfiles:\n  - path: /etc/motd\n    source: missing.txt\n", 5, "files.source", "'missing.txt' does not exist")]
    [InlineData("kind: role\nname: web\nfiles:\n  - path: /etc/motd\n    content: x\n    owner: 'a:b:c'\n", 6, "files.owner", "write 'user' or 'user:group'")]
    [InlineData("kind: role\nname: web\nfiles:\n  - path: /etc/a\n    content: x\n  - path: /etc/a\n    content: y\n", 6, "files", "'/etc/a' is listed twice (first at line 4)")]
    [InlineData("kind: role\nname: web\nusers:\n  - name: Deploy\n", 4, "users.name", "'Deploy' is not a login name")]
    [InlineData("kind: role\nname: web\nusers:\n  - name: deploy\n    uid: 0\n", 5, "users.uid", "'0' is not a user id from 1 to 59999")]
    [InlineData("kind: role\nname: web\nusers:\n  - name: deploy\n    ssh_authorized_keys: [AAAAB3Nza]\n", 5, "users.ssh_authorized_keys", "not an SSH public key")]
    [InlineData("kind: role\nname: web\nusers:\n  - name: deploy\n    password_hash: secret\n", 5, "users.password_hash", "mkpasswd")]
    [InlineData("kind: role\nname: web\nunits:\n  - nginx\n", 4, "units.name", "write it with its type, e.g. nginx.service")]
    [InlineData("kind: role\nname: web\nunits:\n  - name: a.service\n    content: ExecStart=/bin/true\n", 4, "units.content", "needs sections such as [Unit]")]
    [InlineData("kind: role\nname: web\nunits:\n  - name: a.service\n    enable: maybe\n", 5, "units.enable", "'maybe' is not true or false")]
    [InlineData("kind: role\nname: web\nname: api\n", 3, "name", "written twice")]
    [InlineData("kind: role\nname: web\npackages: [nginx\n", 4, null, "invalid YAML")]
    public void BadRole_ReportsFileLineFieldAndFix(string yaml, int line, string? field, string message)
    {
        var result = Read(yaml);

        Assert.Null(result.Role);
        var error = Assert.Single(result.Errors, e => e.Message.Contains(message, StringComparison.Ordinal));
        Assert.Equal("roles/web.yaml", error.File);
        Assert.Equal(line, error.Line);
        Assert.Equal(field, error.Field);
        Assert.StartsWith($"roles/web.yaml:{line}:", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void SeveralProblems_AreAllReported()
    {
        var result = Read("kind: role\nname: web\npackages: ['A']\nusers:\n  - name: X\nunits: [bad]\n");

        Assert.Equal([3, 5, 6], result.Errors.Select(e => e.Line).Order());
    }

    [Fact]
    public void LoadDirectory_ReadsEveryRoleAndRejectsANameDefinedTwice()
    {
        File.WriteAllText(_temp.Combine("a.yaml"), "kind: role\nname: web\n");
        File.WriteAllText(_temp.Combine("b.yml"), "kind: role\nname: db\n");
        Assert.Equal(["db", "web"], RoleYaml.LoadDirectory(_temp.Path).Keys.Order());

        File.WriteAllText(_temp.Combine("c.yaml"), "kind: role\nname: web\n");
        var error = Assert.Throws<RoleDefinitionException>(() => RoleYaml.LoadDirectory(_temp.Path));
        Assert.Contains("role 'web' is already defined in", error.Message, StringComparison.Ordinal);
        Assert.EndsWith("c.yaml", Assert.Single(error.Errors).File, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_MissingFile_SaysWhichPath()
    {
        var error = Assert.Throws<RoleDefinitionException>(() => RoleYaml.Load(_temp.Combine("nope.yaml")));

        Assert.Contains("nope.yaml:0: cannot be read", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BenchmarkRole_IsValid()
    {
        var role = RoleYaml.Load(Path.Combine(RepoPaths.Root, "bench/images/roles/web.yaml"));

        Assert.Equal("web", role.Name);
        Assert.Equal(["nginx-light"], role.Packages);
    }
}
