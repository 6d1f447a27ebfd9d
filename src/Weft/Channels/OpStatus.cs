namespace Weft.Channels;

/// <summary>What an attempt at a channel operation, or at a select case, did.</summary>
internal enum OpStatus : byte
{
    /// <summary>It would have to wait: nothing happened.</summary>
    NotReady,

    /// <summary>It completed (a receive on a closed and drained channel completes too, with ok = false).</summary>
    Done,

    /// <summary>A send found the channel closed: nothing was sent.</summary>
    Closed,
}
