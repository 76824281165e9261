namespace Pxe.Tftp.Files;

/// <summary>The outcome of <see cref="ITftpFileSource.FindAsync"/>.</summary>
public enum TftpLookupStatus
{
    /// <summary>The file exists; <see cref="TftpFileLookup.Content"/> holds it.</summary>
    Found,

    /// <summary>No such file: the client gets ERROR 1 and the next source is asked.</summary>
    NotFound,

    /// <summary>The file must not be served: the client gets ERROR 2.</summary>
    AccessViolation,
}

/// <summary>Result of a file lookup: found with content, not found, or access violation.</summary>
public sealed record TftpFileLookup
{
    private TftpFileLookup(TftpLookupStatus status, TftpFileContent? content)
    {
        Status = status;
        Content = content;
    }

    /// <summary>Not found.</summary>
    public static TftpFileLookup NotFound { get; } = new(TftpLookupStatus.NotFound, null);

    /// <summary>Access violation.</summary>
    public static TftpFileLookup AccessViolation { get; } = new(TftpLookupStatus.AccessViolation, null);

    /// <summary>Which outcome.</summary>
    public TftpLookupStatus Status { get; }

    /// <summary>The content when <see cref="Status"/> is <see cref="TftpLookupStatus.Found"/>; the server disposes it.</summary>
    public TftpFileContent? Content { get; }

    /// <summary>Found, with its content (ownership passes to the caller).</summary>
    public static TftpFileLookup Found(TftpFileContent content)
    {
        ArgumentNullException.ThrowIfNull(content);
        return new TftpFileLookup(TftpLookupStatus.Found, content);
    }
}
