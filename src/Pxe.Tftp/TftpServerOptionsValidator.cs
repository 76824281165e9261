using System.Net.Sockets;
using Microsoft.Extensions.Options;
using Pxe.Tftp.Protocol;

namespace Pxe.Tftp;

/// <summary>Validates <see cref="TftpServerOptions"/>, reporting every error with how to fix it.</summary>
public sealed class TftpServerOptionsValidator : IValidateOptions<TftpServerOptions>
{
    /// <summary>All errors in the options; empty when valid.</summary>
    public static IReadOnlyList<string> Validate(TftpServerOptions options, bool requireRootFolder = true)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        if (options.BindAddress is null)
        {
            errors.Add("Tftp:BindAddress is missing; set an IP address such as 0.0.0.0 or the provisioning interface's address.");
        }
        else if (options.BindAddress.AddressFamily is not (AddressFamily.InterNetwork or AddressFamily.InterNetworkV6))
        {
            errors.Add($"Tftp:BindAddress {options.BindAddress} is not an IPv4 or IPv6 address.");
        }

        if (options.Port is < 0 or > 65535)
        {
            errors.Add($"Tftp:Port {options.Port} is outside 0–65535; use 69 (the TFTP port) or 0 for any free port.");
        }

        if (requireRootFolder)
        {
            if (string.IsNullOrWhiteSpace(options.RootFolder))
            {
                errors.Add("Tftp:RootFolder is empty; set the folder that holds the bootloaders (e.g. /srv/tftp).");
            }
            else if (!Directory.Exists(options.RootFolder))
            {
                errors.Add($"Tftp:RootFolder '{options.RootFolder}' does not exist; create it and copy the bootloaders into it.");
            }
        }

        Range(errors, "MaxConcurrentTransfers", options.MaxConcurrentTransfers, 1, 1_000_000, "1024");
        Range(errors, "RetryLimit", options.RetryLimit, 0, 100, "6");
        if (options.DefaultTimeout < TimeSpan.FromMilliseconds(10) || options.DefaultTimeout > TimeSpan.FromSeconds(255))
        {
            errors.Add($"Tftp:DefaultTimeout {options.DefaultTimeout} is outside 10 ms–255 s; use 00:00:01.");
        }

        Range(errors, "MaxBlockSize", options.MaxBlockSize, TftpNegotiator.MinBlockSize, TftpNegotiator.MaxBlockSize, "65464 (RFC 2348's range is 8–65464)");
        Range(errors, "MaxWindowSize", options.MaxWindowSize, 1, 32768, "64");
        Range(errors, "MaxPathLength", options.MaxPathLength, 1, 4096, "255");
        Range(errors, "RequestQueueLength", options.RequestQueueLength, 1, 1_000_000, "4096");
        Range(errors, "RequestWorkers", options.RequestWorkers, 1, 256, "4");
        Range(errors, "ListenReceiveBufferSize", options.ListenReceiveBufferSize, 4096, 1 << 30, "4194304");
        if (options.HotFileCacheSizeLimit < 0)
        {
            errors.Add($"Tftp:HotFileCacheSizeLimit {options.HotFileCacheSizeLimit} is negative; use 0 to disable the cache or a size in bytes (268435456).");
        }

        if (options.MaxCachedFileSize < 0)
        {
            errors.Add($"Tftp:MaxCachedFileSize {options.MaxCachedFileSize} is negative; use a size in bytes (67108864).");
        }
        else if (options.MaxCachedFileSize > options.HotFileCacheSizeLimit && options.HotFileCacheSizeLimit > 0)
        {
            errors.Add($"Tftp:MaxCachedFileSize {options.MaxCachedFileSize} exceeds Tftp:HotFileCacheSizeLimit {options.HotFileCacheSizeLimit}; lower it or raise the cache limit.");
        }

        if (options.MaxNetasciiFileSize is < 0 or > int.MaxValue / 2)
        {
            errors.Add($"Tftp:MaxNetasciiFileSize {options.MaxNetasciiFileSize} is outside 0–1073741823; use 16777216.");
        }

        return errors;
    }

    /// <summary>Throws one exception listing every error.</summary>
    public static void ThrowIfInvalid(TftpServerOptions options, bool requireRootFolder = true)
    {
        var errors = Validate(options, requireRootFolder);
        if (errors.Count > 0)
        {
            throw new OptionsValidationException("Tftp", typeof(TftpServerOptions), errors);
        }
    }

    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, TftpServerOptions options)
    {
        var errors = Validate(options);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void Range(List<string> errors, string name, long value, long min, long max, string suggestion)
    {
        if (value < min || value > max)
        {
            errors.Add($"Tftp:{name} {value} is outside {min}–{max}; use {suggestion}.");
        }
    }
}
