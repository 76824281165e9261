using Pxe.Tftp.Protocol;
using Pxe.Tftp.Tests.Support;

namespace Pxe.Tftp.Tests.Protocol;

/// <summary>Transfers through a simulated link that drops, duplicates and reorders datagrams.</summary>
public class LossyLinkTests
{
    public static TheoryData<int, int, int> Cases() => new()
    {
        // size, blksize, windowsize
        { 0, 512, 1 },
        { 1, 512, 1 },
        { 512, 512, 1 },
        { 100_000, 512, 1 },
        { 300_000, 1468, 4 },
        { 300_001, 1468, 16 },
        { 1_000_000, 8192, 64 },
        { 34_000_000, 16384, 8 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void EveryTransfer_CompletesByteForByte_WithDropsAndDuplicates(int size, int blockSize, int windowSize)
    {
        for (var seed = 1; seed <= 5; seed++)
        {
            var content = new byte[size];
            new Random(seed).NextBytes(content);
            var simulation = new TransferSimulation(seed, drop: 0.10, duplicate: 0.10, maxDelay: TimeSpan.FromMilliseconds(3));
            simulation.Run(content, blockSize, windowSize, oack: seed % 2 == 0, TimeSpan.FromMilliseconds(50), retryLimit: 12, TimeSpan.FromHours(1));

            Assert.Equal(TftpStepKind.Completed, simulation.FinalStep.Kind);
            Assert.True(simulation.Client!.Done);
            Assert.Equal(content, simulation.Client.Content);

            // No Sorcerer's Apprentice: sends stay linear in the blocks (a lost block costs at most one window).
            var blocks = (size / blockSize) + 1;
            Assert.True(simulation.ServerDataSends <= (blocks + 100) * windowSize, $"seed {seed}: {simulation.ServerDataSends} sends for {blocks} blocks");
        }
    }

    [Fact]
    public void CleanLink_SendsEveryBlockExactlyOnce()
    {
        var content = new byte[1_000_000];
        var simulation = new TransferSimulation(7, drop: 0, duplicate: 0, maxDelay: TimeSpan.Zero);
        simulation.Run(content, 1468, 4, oack: true, TimeSpan.FromSeconds(1), 6, TimeSpan.FromHours(1));
        Assert.Equal(TftpStepKind.Completed, simulation.FinalStep.Kind);
        Assert.Equal((1_000_000 / 1468) + 1, simulation.ServerDataSends);
    }

    [Fact]
    public void DuplicatingLink_NeverDuplicatesSends_InLockStep()
    {
        var content = new byte[200_000];
        var simulation = new TransferSimulation(11, drop: 0, duplicate: 0.5, maxDelay: TimeSpan.Zero);
        simulation.Run(content, 512, 1, oack: false, TimeSpan.FromSeconds(1), 6, TimeSpan.FromHours(1));
        Assert.Equal(TftpStepKind.Completed, simulation.FinalStep.Kind);
        Assert.Equal((200_000 / 512) + 1, simulation.ServerDataSends);
    }
}
