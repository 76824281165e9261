namespace Pxe.Dhcp.Tests;

/// <summary>Lab tests run one at a time: they bind port 67 in their namespaces and run real tools.</summary>
[CollectionDefinition("lab", DisableParallelization = true)]
public sealed class LabCollection
{
}
