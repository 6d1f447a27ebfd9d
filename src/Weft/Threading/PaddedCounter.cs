using System.Runtime.InteropServices;

namespace Weft.Threading;

/// <summary>
/// A 64-bit counter alone on its cache line (64 bytes of padding each side, 128 covering adjacent-line prefetch on
/// x64), so that threads writing it do not slow down threads reading the fields around it (false sharing).
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 256)]
internal struct PaddedCounter
{
    [FieldOffset(128)]
    public long Value;
}
