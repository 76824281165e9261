using System.Diagnostics;
using System.Net.Http.Headers;

namespace Pxe.Server.Tests.Support;

/// <summary>
/// `pxe serve` as a separate process (the real executable, so it can be killed with SIGKILL), on 127.0.0.1 and a free
/// port over a <see cref="TestDirs"/>. Only this process is ever killed, by its own PID.
/// </summary>
internal sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;

    private ServerProcess(Process process, string url, string token)
    {
        _process = process;
        Url = url;
        Http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(15) };
        Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
    }

    public string Url { get; }

    public HttpClient Http { get; }

    public int Pid => _process.Id;

    public static Task<ServerProcess> StartAsync(TestDirs dirs, params string[] extra) => StartAsync(dirs, new Dictionary<string, string>(), extra);

    public static async Task<ServerProcess> StartAsync(TestDirs dirs, IReadOnlyDictionary<string, string> environment, params string[] extra)
    {
        var port = PxeTestServer.FreePort();
        var url = $"http://127.0.0.1:{port}";
        var psi = new ProcessStartInfo(Path.Combine(AppContext.BaseDirectory, "pxe"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            Environment = { ["Pxe__Tftp__Port"] = "0" },
        };
        foreach (var (k, v) in environment)
        {
            psi.Environment[k] = v;
        }

        foreach (var a in (string[])["serve", "--data-dir", dirs.Data, "--spec-dir", dirs.Spec, "--templates-dir", dirs.Templates, "--http", url, .. extra])
        {
            psi.ArgumentList.Add(a);
        }

        var process = Process.Start(psi) ?? throw new InvalidOperationException("pxe did not start");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var probe = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"pxe serve exited with {process.ExitCode} before it answered");
            }

            try
            {
                if ((await probe.GetAsync(url + "/healthz")).IsSuccessStatusCode)
                {
                    break;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException)
            {
                // Slow start under load.
            }

            if (DateTime.UtcNow > deadline)
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException("pxe serve did not answer /healthz within 60 s");
            }

            await Task.Delay(100);
        }

        var token = (await File.ReadAllTextAsync(Path.Combine(dirs.Data, "admin-token"))).Trim();
        return new ServerProcess(process, url, token);
    }

    /// <summary>SIGKILL: no shutdown code runs, exactly like a crash or a power cut of the process.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: false);
        }

        await _process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await KillAsync();
        _process.Dispose();
    }
}
