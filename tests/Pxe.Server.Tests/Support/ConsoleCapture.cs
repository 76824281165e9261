using Spectre.Console;

namespace Pxe.Server.Tests.Support;

/// <summary>The tests that redirect the process-wide console: they run alone, never beside other tests.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ConsoleCollection
{
    public const string Name = "console";
}

/// <summary>
/// Redirects Console.Out, Console.Error and Spectre's AnsiConsole (which keeps the stdout it first saw) to strings,
/// plain text and wide enough that tables do not wrap. Restores them on dispose.
/// </summary>
internal sealed class ConsoleCapture : IDisposable
{
    private readonly TextWriter _out = Console.Out;
    private readonly TextWriter _error = Console.Error;
    private readonly IAnsiConsole _ansi = AnsiConsole.Console;
    private readonly StringWriter _capturedOut = new();
    private readonly StringWriter _capturedError = new();

    public ConsoleCapture()
    {
        Console.SetOut(_capturedOut);
        Console.SetError(_capturedError);
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(_capturedOut),
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
        });
        console.Profile.Width = 250;
        AnsiConsole.Console = console;
    }

    public string Out => _capturedOut.ToString();

    public string Error => _capturedError.ToString();

    /// <summary>Runs the `pxe` command line with these arguments and returns its exit code and what it printed.</summary>
    public static async Task<(int Exit, string Out, string Error)> RunAsync(params string[] args)
    {
        using var capture = new ConsoleCapture();
        var exit = await Cli.PxeCommandLine.RunAsync(args);
        return (exit, capture.Out, capture.Error);
    }

    public void Dispose()
    {
        Console.SetOut(_out);
        Console.SetError(_error);
        AnsiConsole.Console = _ansi;
        _capturedOut.Dispose();
        _capturedError.Dispose();
    }
}
