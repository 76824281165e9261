using Pxe.Profiles.Templates;
using static Pxe.Profiles.Tests.Templates.TemplateTestSupport;

namespace Pxe.Profiles.Tests.Templates;

public sealed class TemplateLibraryTests
{
    private static readonly Dictionary<string, object?> Empty = new(StringComparer.Ordinal);

    [Fact]
    public void Render_MissingVariable_NamesTemplateLineAndVariable()
    {
        using var dir = Write(("install/a.ks", "line one\nline two {{hostname}}\nurl {{distro.install_tree}}\n"));
        var library = LoadOk(dir.Directory);

        var result = library.Render("install/a.ks", new Dictionary<string, object?> { ["distro"] = new Dictionary<string, object?> { ["name"] = "x" }, ["hostname"] = "h" });

        Assert.False(result.Succeeded);
        Assert.Null(result.Text);
        Assert.Equal("install/a.ks", result.Error!.Template);
        Assert.Equal(3, result.Error.Line);
        Assert.Equal("distro.install_tree", result.Error.Variable);
        Assert.Contains("distro.install_tree", result.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Render_MissingVariableInSnippet_NamesTheSnippetAndLine()
    {
        using var dir = Write(("install/a.ks", "top\n{{> net}}\n"), ("snippets/net.hbs", "a\nb\nnetwork {{gateway}}\n"));
        var library = LoadOk(dir.Directory);

        var error = library.Render("install/a.ks", Empty).Error!;

        Assert.Equal("snippets/net.hbs", error.Template);
        Assert.Equal(3, error.Line);
        Assert.Equal("gateway", error.Variable);
        Assert.Contains("install/a.ks", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Render_MissingItemFieldInsideEach_IsAnError()
    {
        using var dir = Write(("t", "{{#each disks}}\n{{name}}\n{{/each}}\n"));
        var library = LoadOk(dir.Directory);

        var error = library.Render("t", new Dictionary<string, object?> { ["disks"] = new List<object?> { new Dictionary<string, object?> { ["size"] = 1L } } }).Error!;

        Assert.Equal(2, error.Line);
        Assert.Equal("name", error.Variable);
    }

    [Fact]
    public void Render_UnknownTemplate_ListsKnownTemplates()
    {
        using var dir = Write(("boot/ipxe.ipxe", "#!ipxe\n"), ("install/a.ks", "x\n"));
        var library = LoadOk(dir.Directory);

        var error = library.Render("install/nope.ks", Empty).Error!;

        Assert.Equal("install/nope.ks", error.Template);
        Assert.Equal(0, error.Line);
        Assert.Contains("boot/ipxe.ipxe, install/a.ks", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_UnknownPartial_IsReportedWithLine()
    {
        using var dir = Write(("install/a.ks", "x\n\n{{> nosuch}}\n"), ("snippets/real.hbs", "r"));

        var result = TemplateLibrary.Load(dir.Directory);

        Assert.False(result.Succeeded);
        Assert.Null(result.Library);
        var error = Assert.Single(result.Errors);
        Assert.Equal("install/a.ks", error.Template);
        Assert.Equal(3, error.Line);
        Assert.Contains("unknown partial 'nosuch'", error.Message, StringComparison.Ordinal);
        Assert.Contains("real", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("a\n{{#if x}}\nb\n", 2, "never closed")]
    [InlineData("a\nb\n{{#if x}}y{{/each}}\n", 3, "does not match")]
    [InlineData("a\n{{hostname\n", 2, "never closed")]
    [InlineData("a\n{{/if}}\n", 2, "never opened")]
    [InlineData("a\n\n{{nohelper hostname}}\n", 3, "unknown helper 'nohelper'")]
    [InlineData("{{#each list as |item|}}{{item}}{{/each}}", 1, "block parameters")]
    [InlineData("{{join dns}}", 1, "takes 2 argument(s), got 1")]
    [InlineData("{{#if (eq a)}}x{{/if}}", 1, "takes 2 argument(s), got 1")]
    [InlineData("{{lookup distro \"kernel\"}}", 1, "unknown helper 'lookup'")]
    [InlineData("{{log hostname}}", 1, "unknown helper 'log'")]
    [InlineData("{{#*inline \"p\"}}x{{/inline}}", 1, "not supported")]
    [InlineData("{{join list sep=\",\"}}", 1, "hash arguments")]
    [InlineData("x\n{{{{raw}}}}{{{{/raw}}}}", 2, "raw blocks")]
    [InlineData("{{#foreach x}}{{/foreach}}", 1, "unknown block helper 'foreach'")]
    [InlineData("{{url}}", 1, "helper 'url' takes 1")]
    public void Load_SyntaxError_IsReportedWithLine(string source, int line, string message)
    {
        using var dir = Write(("t.cfg", source));

        var result = TemplateLibrary.Load(dir.Directory);

        Assert.False(result.Succeeded);
        var error = result.Errors[0];
        Assert.Equal("t.cfg", error.Template);
        Assert.Equal(line, error.Line);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_ReportsEveryProblemAtOnce()
    {
        using var dir = Write(("a", "{{#if x}}"), ("b", "{{> missing}}"), ("c", "{{bogus x}}"), ("d", "fine {{x}}"));

        var result = TemplateLibrary.Load(dir.Directory);

        Assert.Equal(["a", "b", "c"], result.Errors.Select(e => e.Template).Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("{{> ../../etc/passwd}}")]
    [InlineData("{{> /etc/passwd}}")]
    [InlineData("{{> \"../secret\"}}")]
    [InlineData("{{> snippets/../../x}}")]
    [InlineData("{{> (lookup . \"name\")}}")]
    [InlineData("{{> real hostname}}")]
    [InlineData("{{#> real}}x{{/real}}")]
    public void Load_PartialThatEscapesTheSnippetFolder_IsRejected(string source)
    {
        using var outside = Write(("passwd.hbs", "SECRET"));
        using var dir = Write(("t", source), ("snippets/real.hbs", "ok"));

        var result = TemplateLibrary.Load(dir.Directory);

        Assert.False(result.Succeeded);
        Assert.Equal("t", result.Errors[0].Template);
    }

    [Fact]
    public void Load_SymlinkPointingOutside_IsRejected()
    {
        using var outside = Write(("secret.txt", "SECRET {{x}}"));
        using var dir = Write(("ok.cfg", "fine"));
        Directory.CreateDirectory(Path.Combine(dir.Directory, "snippets"));
        File.CreateSymbolicLink(Path.Combine(dir.Directory, "snippets", "leak.hbs"), Path.Combine(outside.Directory, "secret.txt"));

        var result = TemplateLibrary.Load(dir.Directory);

        Assert.False(result.Succeeded);
        Assert.Contains(result.Errors, e => e.Template == "snippets/leak.hbs" && e.Message.Contains("outside", StringComparison.Ordinal));
    }

    [Fact]
    public void Load_MissingDirectory_IsAnErrorNotAnException()
    {
        var result = TemplateLibrary.Load(Path.Combine(Path.GetTempPath(), "pxe-no-such-" + Guid.NewGuid().ToString("N")));

        Assert.False(result.Succeeded);
        Assert.Contains("does not exist", Assert.Single(result.Errors).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_SnippetCycle_IsRejected()
    {
        using var dir = Write(("t", "{{> a}}"), ("snippets/a.hbs", "{{> b}}"), ("snippets/b.hbs", "{{> a}}"));

        var result = TemplateLibrary.Load(dir.Directory);

        Assert.False(result.Succeeded);
        Assert.Contains(result.Errors, e => e.Message.Contains("cycle", StringComparison.Ordinal));
    }

    [Fact]
    public void Names_ListTemplatesWithForwardSlashes_AndExcludeSnippetsAndHiddenFiles()
    {
        using var dir = Write(("boot/ipxe.ipxe", "x"), ("install/ubuntu/user-data", "y"), ("snippets/s.hbs", "z"), (".hidden", "h"), ("boot/ipxe.ipxe~", "backup"));

        var library = LoadOk(dir.Directory);

        Assert.Equal(["boot/ipxe.ipxe", "install/ubuntu/user-data"], library.Names);
        Assert.True(library.Exists("boot/ipxe.ipxe"));
        Assert.False(library.Exists("snippets/s.hbs"));
    }

    [Fact]
    public void RequiredVariables_ExcludeGuardedDefaultedAndLocalNames_IncludeSnippetNeeds()
    {
        using var dir = Write(
            ("t",
                "{{hostname}} {{distro.kernel}}\n" +
                "{{default disk \"sda\"}}\n" +
                "{{#if ip}}static{{else if dhcp_hint}}hint{{/if}}\n" +
                "{{#unless quiet}}loud{{/unless}}\n" +
                "{{#if (eq boot_action \"install\")}}i{{/if}}\n" +
                "{{#each packages}}{{this}} {{@index}} {{name}} {{../fqdn}} {{@root.mac}}{{/each}}\n" +
                "{{#with distro}}{{arch}}{{/with}}\n" +
                "{{join dns \",\"}}\n" +
                "{{> net}}\n"),
            ("snippets/net.hbs", "{{gateway}} {{default netmask \"255.255.255.0\"}} {{> inner}}"),
            ("snippets/inner.hbs", "{{prefix}}"));
        var library = LoadOk(dir.Directory);

        var required = library.RequiredVariables("t");

        Assert.Equal(
            ["boot_action", "distro", "dns", "fqdn", "gateway", "hostname", "mac", "packages", "prefix"],
            required.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void RequiredVariables_NameUsedBothGuardedAndDirectly_IsRequired()
    {
        using var dir = Write(("t", "{{#if ip}}{{ip}}{{/if}}"));

        Assert.Equal(["ip"], LoadOk(dir.Directory).RequiredVariables("t"));
    }

    [Fact]
    public void RequiredVariables_MatchWhatRenderingNeeds()
    {
        var library = Shipped;
        foreach (var name in library.Names)
        {
            var all = StaticMachine();
            var only = all.Where(kv => library.RequiredVariables(name).Contains(kv.Key)).ToDictionary(StringComparer.Ordinal);

            var result = library.Render(name, only);

            Assert.True(result.Succeeded, $"{name} with only its required variables: {result.Error}");
        }
    }

    [Fact]
    public void Render_GuardedAndDefaultedNames_MayBeUndefined()
    {
        using var dir = Write(("t", "{{#if ip}}static{{else}}dhcp{{/if}} {{default disk \"sda\"}} {{#unless quiet}}loud{{/unless}} {{#if distro.extra}}x{{/if}}"));
        var library = LoadOk(dir.Directory);

        Assert.Equal("dhcp sda loud ", RenderOk(library, "t", new Dictionary<string, object?> { ["distro"] = new Dictionary<string, object?>() }));
        Assert.Equal("static vdb  x", RenderOk(library, "t", new Dictionary<string, object?>
        {
            ["ip"] = "10.0.0.5", ["disk"] = "vdb", ["quiet"] = true, ["distro"] = new Dictionary<string, object?> { ["extra"] = "y" },
        }));
    }

    [Fact]
    public void Render_KernelArgs_PassThroughVerbatim()
    {
        using var dir = Write(("boot/ipxe.ipxe", "kernel {{kernel_url}} {{kernel_args}}\n"));
        var library = LoadOk(dir.Directory);
        const string args = "initrd=initrd.gz url=http://h/x?a=1&b=<2> ks=\"q\" x='y' ${not_expanded} \\ é ∞";

        var text = RenderOk(library, "boot/ipxe.ipxe", new Dictionary<string, object?> { ["kernel_url"] = "http://h/k", ["kernel_args"] = args });

        Assert.Equal($"kernel http://h/k {args}\n", text);
    }

    [Fact]
    public void Render_HelperGivenWrongValue_IsAnErrorWithLine()
    {
        using var dir = Write(("t", "a\n{{join dns \",\"}}\n"));
        var library = LoadOk(dir.Directory);

        var error = library.Render("t", new Dictionary<string, object?> { ["dns"] = "10.0.0.53" }).Error!;

        Assert.Equal(2, error.Line);
        Assert.Contains("join expects a list", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Render_ManyThreadsAtOnce_GiveIdenticalOutput()
    {
        var library = Shipped;
        var variables = StaticMachine();
        var expected = RenderOk(library, "install/rhel9.ks", variables);
        var results = new string?[8 * 200];

        Parallel.For(0, results.Length, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
            results[i] = library.Render("install/rhel9.ks", variables).Text);

        Assert.All(results, r => Assert.Equal(expected, r));
    }

    [Fact]
    public void Render_DoesNotHtmlEscape()
    {
        using var dir = Write(("t", "{{v}}|{{{v}}}"));

        Assert.Equal("<a&'\">|<a&'\">", RenderOk(LoadOk(dir.Directory), "t", new Dictionary<string, object?> { ["v"] = "<a&'\">" }));
    }

    [Fact]
    public void Render_StandalonePartial_IsIndentedLikeItsTag()
    {
        using var dir = Write(("t", "a:\n  {{> two}}\nb\n"), ("snippets/two.hbs", "x: 1\ny: 2\n"));

        Assert.Equal("a:\n  x: 1\n  y: 2\nb\n", RenderOk(LoadOk(dir.Directory), "t", Empty));
    }

    [Fact]
    public void Render_SnippetInFolder_IsIncludedByFolderName()
    {
        using var dir = Write(("t", "[{{> net/static}}]"), ("snippets/net/static.hbs", "S{{ip}}"));

        Assert.Equal("[S1.2.3.4]", RenderOk(LoadOk(dir.Directory), "t", new Dictionary<string, object?> { ["ip"] = "1.2.3.4" }));
    }
}
