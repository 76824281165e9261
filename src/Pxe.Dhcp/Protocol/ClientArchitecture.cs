namespace Pxe.Dhcp.Protocol;

/// <summary>
/// IANA "Processor Architecture Types" registry (RFC 4578 §2.1, updated by RFC 5970 and later assignments),
/// as sent in option 93 and in the <c>PXEClient:Arch:NNNNN</c> vendor class.
/// </summary>
public enum ClientArchitecture : ushort
{
    X86Bios = 0,
    NecPc98 = 1,
    EfiItanium = 2,
    DecAlpha = 3,
    ArcX86 = 4,
    IntelLeanClient = 5,
    EfiIa32 = 6,

    /// <summary>EFI BC: what EDK2/OVMF x64 firmware sends (OVMF 2022.11 native PXE sends <c>93=0007</c>).</summary>
    EfiByteCode = 7,
    EfiXScale = 8,
    EfiX64 = 9,
    EfiArm32 = 10,
    EfiArm64 = 11,
    PowerPcOpenFirmware = 12,
    PowerPcEpapr = 13,
    PowerOpalV3 = 14,
    EfiX86Http = 15,
    EfiX64Http = 16,
    EfiByteCodeHttp = 17,
    EfiArm32Http = 18,
    EfiArm64Http = 19,
    PcBiosHttp = 20,
    EfiRiscV32 = 25,
    EfiRiscV64 = 27,
}
