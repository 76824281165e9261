using System.Runtime.CompilerServices;

// Stack buffers on the packet path are always written before they are read; skip zeroing them.
[module: SkipLocalsInit]
