using System.Buffers.Binary;
using System.Text;

namespace Pxe.Images.Installer;

/// <summary>
/// A tiny bootable disk image for proving the install path end to end without an operating system: an MBR whose
/// boot code prints <see cref="BootMessage"/> through the BIOS (SeaBIOS copies it to the serial console) and halts,
/// one Linux partition, and a marker at the partition's start. Installing it and then booting from the disk shows
/// that the image was written, verified and booted.
/// </summary>
public static class HelloDisk
{
    /// <summary>What the boot code prints.</summary>
    public const string BootMessage = "PxeServer hello disk: booted from the local disk";

    /// <summary>What the first partition starts with.</summary>
    public const string Marker = "PXESERVER-HELLO-DISK 1";

    /// <summary>Image size: 4 MiB (SeaBIOS refuses to boot a disk of one sector).</summary>
    public const int Size = 4 * 1024 * 1024;

    private const int PartitionStart = 2048;

    /// <summary>
    /// 16-bit real-mode boot code, loaded at 0000:7C00:
    /// <code>
    ///  cli; xor ax,ax; mov ds,ax; mov es,ax; mov ss,ax; mov sp,0x7c00; sti
    ///  mov si,message
    /// next: lodsb; test al,al; jz halt; mov ah,0x0e; mov bx,7; int 0x10; jmp next
    /// halt: sti; hlt; jmp halt
    /// </code>
    /// </summary>
    private static ReadOnlySpan<byte> BootCode =>
    [
        0xFA, 0x31, 0xC0, 0x8E, 0xD8, 0x8E, 0xC0, 0x8E, 0xD0, 0xBC, 0x00, 0x7C, 0xFB,
        0xBE, 0x00, 0x00,                   // mov si, imm16 (patched with the message's address)
        0xAC, 0x84, 0xC0, 0x74, 0x09, 0xB4, 0x0E, 0xBB, 0x07, 0x00, 0xCD, 0x10, 0xEB, 0xF2,
        0xFB, 0xF4, 0xEB, 0xFD,
    ];

    /// <summary>The image's bytes (the same every time).</summary>
    public static byte[] Build()
    {
        var image = new byte[Size];
        var mbr = image.AsSpan(0, 512);
        BootCode.CopyTo(mbr);
        var messageOffset = BootCode.Length;
        BinaryPrimitives.WriteUInt16LittleEndian(mbr[14..], (ushort)(0x7C00 + messageOffset));
        // SeaBIOS's serial console holds back the last characters of a line until more output comes: end with blank lines.
        var message = Encoding.ASCII.GetBytes("\r\n" + BootMessage + "\r\n\r\n\r\n\r\n\0");
        message.CopyTo(mbr[messageOffset..]);

        BinaryPrimitives.WriteUInt32LittleEndian(mbr[440..], 0x50584548); // disk signature "HEXP"
        var entry = mbr[446..462];
        entry[0] = 0x80;                                                 // active
        entry[1] = 0xFE; entry[2] = 0xFF; entry[3] = 0xFF;               // CHS start: use LBA
        entry[4] = 0x83;                                                 // Linux
        entry[5] = 0xFE; entry[6] = 0xFF; entry[7] = 0xFF;               // CHS end: use LBA
        BinaryPrimitives.WriteUInt32LittleEndian(entry[8..], PartitionStart);
        BinaryPrimitives.WriteUInt32LittleEndian(entry[12..], (Size / 512) - PartitionStart);
        mbr[510] = 0x55;
        mbr[511] = 0xAA;

        Encoding.ASCII.GetBytes(Marker + "\n").CopyTo(image.AsSpan(PartitionStart * 512));
        return image;
    }
}
