using System.Diagnostics;
using System.Globalization;
using System.Text;
using Notistream.Testing;

namespace Notistream.RespServer.Compat.Tests.Clients;

/// <summary>The real redis-cli, run against a port on 127.0.0.1 with the given arguments.</summary>
internal static class RedisCli
{
    /// <summary>Runs redis-cli to completion; returns "exit N" then its standard output and error.</summary>
    public static async Task<string> RunAsync(int port, IEnumerable<string> args)
    {
        using var process = Start(port, args);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WithTimeout();
        return $"exit {process.ExitCode}\n{await stdout.WithTimeout()}{await stderr.WithTimeout()}";
    }

    public static Process Start(int port, IEnumerable<string> args)
    {
        var exe = ExternalProgram.Require("redis-cli", "apt-get install redis-tools");
        var psi = new ProcessStartInfo(exe)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
        };
        psi.ArgumentList.Add("-h");
        psi.ArgumentList.Add("127.0.0.1");
        psi.ArgumentList.Add("-p");
        psi.ArgumentList.Add(port.ToString(CultureInfo.InvariantCulture));
        foreach (var arg in args)
        {
            psi.ArgumentList.Add(arg);
        }

        var process = Process.Start(psi) ?? throw new InvalidOperationException("redis-cli did not start");
        process.StandardInput.Close();
        return process;
    }
}
