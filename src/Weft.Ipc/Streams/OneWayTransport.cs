// OneWayTransport — every IPC endpoint has one direction, so the seam's other half (IChanTransport) is the same for
// every receive endpoint and for every send endpoint: written once here, as default interface members, instead of in
// each transport. The channel never calls the other half's members in a way that matters: a receive endpoint's
// channel has no senders that could complete (its send half is never ready and arms nothing), and the other way round.
// Rejected: abstract base classes, because the send transports already derive from their mechanism's sender base.

using Weft.Channels;

namespace Weft.Ipc.Streams;

/// <summary>A receive endpoint's transport: values come out of the kernel only; nothing is ever put.</summary>
internal interface IReceiveTransport<T> : IChanTransport<T>
{
    bool IChanTransport<T>.IsReceiver => true;

    TransportStatus IChanTransport<T>.TryFlush() => TransportStatus.NotReady;

    TransportStatus IChanTransport<T>.TryPut(T value) => TransportStatus.NotReady;

    bool IChanTransport<T>.LooksWritable => false;

    bool IChanTransport<T>.ArmSend() => true;
}

/// <summary>A send endpoint's transport: values go into the kernel only; nothing is ever taken.</summary>
internal interface ISendTransport<T> : IChanTransport<T>
{
    bool IChanTransport<T>.IsReceiver => false;

    TransportStatus IChanTransport<T>.TryTake(out T value)
    {
        value = default!;
        return TransportStatus.NotReady;
    }

    bool IChanTransport<T>.LooksReadable => false;

    bool IChanTransport<T>.ArmReceive() => true;
}
