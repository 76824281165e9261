using Pxe.Tftp.Protocol;

namespace Pxe.Tftp.Tests.Protocol;

public class TftpReadTransferTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan T0 = TimeSpan.FromSeconds(10);

    private static byte[] Ack(ushort block) => [0, 4, (byte)(block >> 8), (byte)block];

    private static byte[] Error(TftpErrorCode code) => [0, 5, 0, (byte)code, .. "x\0"u8];

    [Fact]
    public void Start_WithoutOptions_SendsBlockOneAtOnce()
    {
        var transfer = new TftpReadTransfer(1000, 512, 1, Timeout, 3, sendOack: false);
        var step = transfer.Start(T0);
        Assert.Equal(new TftpStep(TftpStepKind.SendBlocks, 1, 1), step);
        Assert.Equal(T0 + Timeout, transfer.Deadline);
    }

    [Fact]
    public void Start_WithOptions_SendsOackAndWaitsForAckZero()
    {
        var transfer = new TftpReadTransfer(1000, 512, 1, Timeout, 3, sendOack: true);
        Assert.Equal(TftpStepKind.SendOptionAcknowledgement, transfer.Start(T0).Kind);
        Assert.Equal(TftpStepKind.Ignored, transfer.OnPacket(Ack(1), T0).Kind);
        Assert.Equal(new TftpStep(TftpStepKind.SendBlocks, 1, 1), transfer.OnPacket(Ack(0), T0));
    }

    [Fact]
    public void LockStep_SendsEachBlockAfterItsPredecessorsAck_AndCompletesOnTheShortBlock()
    {
        var transfer = new TftpReadTransfer(1000, 512, 1, Timeout, 3, sendOack: false);
        transfer.Start(T0);
        Assert.Equal(new TftpStep(TftpStepKind.SendBlocks, 2, 2), transfer.OnPacket(Ack(1), T0));
        Assert.Equal((512L, 488), transfer.GetBlockRange(2));
        Assert.Equal(TftpStepKind.Completed, transfer.OnPacket(Ack(2), T0).Kind);
        Assert.True(transfer.IsFinished);
    }

    [Fact]
    public void FileOfExactMultipleOfBlockSize_EndsWithAnEmptyBlock()
    {
        var transfer = new TftpReadTransfer(1024, 512, 1, Timeout, 3, sendOack: false);
        Assert.Equal(3, transfer.LastBlock);
        Assert.Equal((1024L, 0), transfer.GetBlockRange(3));
    }

    [Fact]
    public void EmptyFile_IsOneEmptyBlock()
    {
        var transfer = new TftpReadTransfer(0, 512, 1, Timeout, 3, sendOack: false);
        Assert.Equal(new TftpStep(TftpStepKind.SendBlocks, 1, 1), transfer.Start(T0));
        Assert.Equal((0L, 0), transfer.GetBlockRange(1));
        Assert.Equal(TftpStepKind.Completed, transfer.OnPacket(Ack(1), T0).Kind);
    }

    [Fact]
    public void DuplicateAck_NeverCausesASend_SorcerersApprentice()
    {
        var transfer = new TftpReadTransfer(10_000, 512, 1, Timeout, 3, sendOack: false);
        transfer.Start(T0);
        Assert.Equal(TftpStepKind.SendBlocks, transfer.OnPacket(Ack(1), T0).Kind);
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(TftpStepKind.Wait, transfer.OnPacket(Ack(1), T0).Kind);
        }

        Assert.Equal(new TftpStep(TftpStepKind.SendBlocks, 3, 3), transfer.OnPacket(Ack(2), T0));
    }

    [Fact]
    public void Timeout_ResendsFromLastAcknowledged_ThenGivesUpAfterRetryLimit()
    {
        var transfer = new TftpReadTransfer(10_000, 512, 4, Timeout, 2, sendOack: false);
        transfer.Start(T0);
        transfer.OnPacket(Ack(2), T0);
        Assert.Equal(TftpStepKind.Wait, transfer.OnTimeout(T0 + Timeout - TimeSpan.FromTicks(1)).Kind);
        var now = T0 + Timeout;
        Assert.Equal(new TftpStep(TftpStepKind.SendBlocks, 3, 6, IsRetransmission: true), transfer.OnTimeout(now));
        now += Timeout;
        Assert.Equal(new TftpStep(TftpStepKind.SendBlocks, 3, 6, IsRetransmission: true), transfer.OnTimeout(now));
        now += Timeout;
        var last = transfer.OnTimeout(now);
        Assert.Equal(TftpStepKind.TimedOut, last.Kind);
        Assert.Equal(TftpErrorReason.RetriesExhausted, last.Error);
        Assert.True(transfer.IsFinished);
        Assert.Equal(TimeSpan.MaxValue, transfer.Deadline);
    }

    [Fact]
    public void Progress_ResetsTheRetryCount()
    {
        var transfer = new TftpReadTransfer(100_000, 512, 1, Timeout, 1, sendOack: false);
        var now = T0;
        transfer.Start(now);
        for (ushort block = 1; block < 5; block++)
        {
            now += Timeout;
            Assert.True(transfer.OnTimeout(now).IsRetransmission);
            Assert.Equal(TftpStepKind.SendBlocks, transfer.OnPacket(Ack(block), now).Kind);
        }
    }

    [Fact]
    public void OackTimeout_ResendsTheOack()
    {
        var transfer = new TftpReadTransfer(1000, 512, 1, Timeout, 3, sendOack: true);
        transfer.Start(T0);
        var step = transfer.OnTimeout(T0 + Timeout);
        Assert.Equal(TftpStepKind.SendOptionAcknowledgement, step.Kind);
        Assert.True(step.IsRetransmission);
    }

    [Fact]
    public void Window_SendsWindowSizeBlocksPerAck()
    {
        var transfer = new TftpReadTransfer(100_000, 512, 4, Timeout, 3, sendOack: true);
        transfer.Start(T0);
        Assert.Equal(new TftpStep(TftpStepKind.SendBlocks, 1, 4), transfer.OnPacket(Ack(0), T0));
        Assert.Equal(new TftpStep(TftpStepKind.SendBlocks, 5, 8), transfer.OnPacket(Ack(4), T0));
    }

    [Fact]
    public void Window_AckInsideTheWindow_ResendsFromTheBlockAfterIt()
    {
        var transfer = new TftpReadTransfer(100_000, 512, 4, Timeout, 3, sendOack: false);
        transfer.Start(T0);
        var step = transfer.OnPacket(Ack(2), T0);
        Assert.Equal(new TftpStep(TftpStepKind.SendBlocks, 3, 6, IsRetransmission: true), step);
        Assert.Equal(TftpStepKind.Wait, transfer.OnPacket(Ack(1), T0).Kind); // stale
        Assert.Equal(TftpStepKind.Wait, transfer.OnPacket(Ack(2), T0).Kind); // duplicate
        Assert.Equal(TftpStepKind.Wait, transfer.OnPacket(Ack(9), T0).Kind); // never sent
    }

    [Fact]
    public void Window_IsCutAtTheLastBlock()
    {
        var transfer = new TftpReadTransfer(1500, 512, 16, Timeout, 3, sendOack: false);
        Assert.Equal(new TftpStep(TftpStepKind.SendBlocks, 1, 3), transfer.Start(T0));
        Assert.Equal(TftpStepKind.Completed, transfer.OnPacket(Ack(3), T0).Kind);
    }

    [Fact]
    public void BlockNumbers_RollOverPast65535_AndAcksMapToAbsoluteBlocks()
    {
        const long blocks = 70_000;
        var transfer = new TftpReadTransfer((blocks * 512) - 1, 512, 1, Timeout, 3, sendOack: false);
        transfer.Start(T0);
        for (long block = 1; block < blocks; block++)
        {
            var step = transfer.OnPacket(Ack(TftpReadTransfer.WireBlock(block)), T0);
            Assert.Equal(block + 1, step.FirstBlock);
        }

        Assert.Equal(0, TftpReadTransfer.WireBlock(65536));
        Assert.Equal(65535L * 512, transfer.GetBlockRange(65536).Offset);
        Assert.Equal(TftpStepKind.Completed, transfer.OnPacket(Ack(TftpReadTransfer.WireBlock(blocks)), T0).Kind);
    }

    [Fact]
    public void ErrorFromClient_AfterOack_EndsTheTransferWithoutSending()
    {
        var transfer = new TftpReadTransfer(850528, 1468, 4, Timeout, 3, sendOack: true);
        transfer.Start(T0);
        Assert.True(transfer.AwaitingOptionAcknowledgement);
        var step = transfer.OnPacket(Error(TftpErrorCode.OptionRefused), T0);
        Assert.Equal(TftpStepKind.AbortedByClient, step.Kind);
        Assert.Equal(TftpErrorCode.OptionRefused, step.ClientErrorCode);
        Assert.True(transfer.IsFinished);
        Assert.Equal(TftpStepKind.Wait, transfer.OnTimeout(T0 + (Timeout * 10)).Kind);
    }

    [Theory]
    [InlineData(new byte[] { 0, 3, 0, 1, 1, 2 })]
    [InlineData(new byte[] { 0, 1, 0 })]
    [InlineData(new byte[] { 0, 4, 0 })]
    [InlineData(new byte[] { 1 })]
    public void UnexpectedOrMalformedPacket_IsIgnored(byte[] datagram)
    {
        var transfer = new TftpReadTransfer(10_000, 512, 1, Timeout, 3, sendOack: false);
        transfer.Start(T0);
        Assert.Equal(TftpStepKind.Ignored, transfer.OnPacket(datagram, T0).Kind);
        Assert.False(transfer.IsFinished);
    }
}
