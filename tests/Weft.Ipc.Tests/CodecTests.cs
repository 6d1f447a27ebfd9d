using System.Text;
using System.Text.Json.Serialization;
using Weft.Ipc.Framing;
using Weft.Tests;
using Xunit;
using static Weft.Ipc.Tests.PipeChannelTests;

namespace Weft.Ipc.Tests;

public sealed record Order(int Id, string Item, decimal Price, string[] Tags);

public sealed record OtherOrder(int Id, string Item);

[JsonSerializable(typeof(Order))]
[JsonSerializable(typeof(OtherOrder))]
internal sealed partial class CodecTestJson : JsonSerializerContext;

/// <summary>The UTF-8 and JSON codecs (src/Weft.Ipc/Framing): round trips, fingerprints, and bad data on the endpoint.</summary>
public sealed class CodecTests
{
    [Fact]
    public async Task Utf8_strings_round_trip_through_a_socket_pair_in_order()
    {
        string[] values = ["", "hello", "héllo wörld", "日本語", "emoji 🎉", new string('x', 1000)];
        var (a, b) = IpcSocketPair.Create(IpcCodec.Utf8(maxLength: 4096), maxFrameSize: 4096);
        using (a)
        using (b)
        {
            foreach (string v in values) await a.Sender.Channel.SendAsync(v).Within();
            a.Sender.Channel.Close();
            var got = new List<string>();
            while (await b.Receiver.Channel.ReceiveOkAsync().Within() is (var s, true)) got.Add(s!);
            Assert.Equal(values, got);
            Assert.Null(b.Receiver.Error);
        }
    }

    [Fact]
    public async Task Json_values_round_trip_with_the_source_generated_contract()
    {
        var orders = Enumerable.Range(0, 50).Select(i => new Order(i, "item " + i, i * 1.25m, [$"t{i}", "x"])).ToArray();
        var (a, b) = IpcSocketPair.Create(IpcCodec.Json(CodecTestJson.Default.Order));
        using (a)
        using (b)
        {
            foreach (var o in orders) await a.Sender.Channel.SendAsync(o).Within();
            a.Sender.Channel.Close();
            var got = new List<Order>();
            while (await b.Receiver.Channel.ReceiveOkAsync().Within() is (var o, true)) got.Add(o!);
            Assert.Equal(orders.Length, got.Count);
            for (int i = 0; i < orders.Length; i++)
            {
                Assert.Equal((orders[i].Id, orders[i].Item, orders[i].Price), (got[i].Id, got[i].Item, got[i].Price));
                Assert.Equal(orders[i].Tags, got[i].Tags);
            }
        }
    }

    [Fact]
    public async Task Pooled_byte_runs_round_trip_through_a_pipe_in_rented_arrays()
    {
        byte[][] values = [[], [1], [.. Enumerable.Range(0, 64).Select(i => (byte)i)], [.. Enumerable.Repeat((byte)0xAB, 3000)]];
        var pool = System.Buffers.ArrayPool<byte>.Create();
        var (tx, rx) = IpcPipe.Create(IpcCodec.PooledBytes(4096, pool), maxFrameSize: 4096);
        using (tx)
        using (rx)
        {
            foreach (byte[] v in values)
            {
                await tx.Channel.SendAsync(new ArraySegment<byte>([0xEE, .. v, 0xEE], 1, v.Length)).Within(); // only the segment goes
                var segment = await rx.Channel.ReceiveAsync().Within();
                Assert.Equal(v, segment.AsSpan().ToArray());
                Assert.Equal(0, segment.Offset);
                pool.Return(segment.Array!);
            }
        }
    }

    [Fact]
    public void Pooled_byte_runs_and_byte_arrays_share_one_wire_format()
    {
        byte[] v = [.. Enumerable.Range(0, 100).Select(i => (byte)(i * 7))];
        var plain = IpcCodec.Bytes(128);
        var pooled = IpcCodec.PooledBytes(128);
        Assert.Equal(plain.Fingerprint, pooled.Fingerprint); // so the hellos agree, either way round
        Assert.Equal("PooledBytes(max 128)", pooled.Name);
        var frame = new byte[128];
        int n = pooled.Encode(new ArraySegment<byte>(v), frame);
        Assert.Equal(v, plain.Decode(frame.AsSpan(0, n), out string? error));
        Assert.Null(error);
        n = plain.Encode(v, frame);
        Assert.Equal(v, pooled.Decode(frame.AsSpan(0, n), out error).AsSpan().ToArray());
        Assert.Null(error);
        Assert.Equal(-1, pooled.Encode(default, frame)); // no array: nothing to send, as a null array
        Assert.Equal(-1, pooled.Encode(new ArraySegment<byte>(new byte[129]), new byte[256])); // over the maximum
        _ = pooled.Decode(new byte[129], out error);
        Assert.Contains("at most 128 bytes", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_default_segment_closes_the_pooled_byte_sender_and_tells_the_peer()
    {
        var (tx, rx) = IpcPipe.Create(IpcCodec.PooledBytes(16), maxFrameSize: 16);
        using (tx)
        using (rx)
        {
            await Assert.ThrowsAsync<ChannelClosedException>(() => tx.Channel.SendAsync(default).AsTask()).Within();
            Assert.Contains("A null value cannot be sent", tx.Error!.Message, StringComparison.Ordinal);
            Assert.False((await rx.Channel.ReceiveOkAsync().Within()).Ok);
            Assert.IsType<IpcProtocolException>(rx.Error);
        }
    }

    [Fact]
    public void Fingerprints_differ_by_codec_and_by_contract_and_are_stable()
    {
        var utf8 = IpcCodec.Utf8();
        var order = IpcCodec.Json(CodecTestJson.Default.Order);
        var other = IpcCodec.Json(CodecTestJson.Default.OtherOrder);
        var bytes = IpcCodec.Bytes();
        ulong[] all = [utf8.Fingerprint, order.Fingerprint, other.Fingerprint, bytes.Fingerprint, IpcCodec.Unmanaged<long>().Fingerprint];
        Assert.Equal(all.Length, all.Distinct().Count());
        Assert.Equal(order.Fingerprint, IpcCodec.Json(CodecTestJson.Default.Order).Fingerprint);
        Assert.Equal(utf8.Fingerprint, IpcCodec.Utf8(10).Fingerprint); // the maximum is the frame's business, not the encoding's
    }

    [Fact]
    public async Task A_payload_that_is_not_UTF8_closes_the_receiver_with_a_protocol_error()
    {
        var codec = IpcCodec.Utf8();
        var (raw, receiver) = RawPeer(codec);
        using (raw)
        using (receiver)
        {
            Write(raw, Hello(codec, 64), Frame(FrameFormat.KindData, Encoding.UTF8.GetBytes("ok")), Frame(FrameFormat.KindData, [0x61, 0xC3, 0x28]));
            Assert.Equal(("ok", true), await receiver.Channel.ReceiveOkAsync().Within());
            Assert.False((await receiver.Channel.ReceiveOkAsync().Within()).Ok);
            var ex = Assert.IsType<IpcProtocolException>(receiver.Error);
            Assert.Contains("not valid UTF-8", ex.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("{\"Id\":1,")]
    [InlineData("[1,2,3]")]
    [InlineData("{\"Id\":\"one\"}")]
    [InlineData("\u00ff\u00fe")]
    public async Task A_payload_that_is_not_the_JSON_of_T_closes_the_receiver_with_a_protocol_error(string payload)
    {
        var codec = IpcCodec.Json(CodecTestJson.Default.Order, maxLength: 64);
        var (raw, receiver) = RawPeer(codec);
        using (raw)
        using (receiver)
        {
            Write(raw, Hello(codec, 64), Frame(FrameFormat.KindData, Encoding.UTF8.GetBytes("{\"Id\":7,\"Item\":\"a\",\"Price\":1,\"Tags\":[]}")), Frame(FrameFormat.KindData, Encoding.Latin1.GetBytes(payload)));
            var (first, ok) = await receiver.Channel.ReceiveOkAsync().Within();
            Assert.True(ok);
            Assert.Equal(7, first!.Id);
            Assert.False((await receiver.Channel.ReceiveOkAsync().Within()).Ok);
            var ex = Assert.IsType<IpcProtocolException>(receiver.Error);
            Assert.Contains("is not the JSON of a Order", ex.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_string_or_JSON_over_the_maximum_or_a_null_string_closes_the_sender_and_tells_the_peer()
    {
        var (a, b) = IpcSocketPair.Create(IpcCodec.Utf8(maxLength: 8), maxFrameSize: 64);
        using (a)
        using (b)
        {
            await a.Sender.Channel.SendAsync("12345678").Within();
            await Assert.ThrowsAsync<ChannelClosedException>(() => a.Sender.Channel.SendAsync("123456789").AsTask()).Within();
            Assert.Contains("A value of 9 bytes cannot be sent", Assert.IsType<ArgumentException>(a.Sender.Error).Message, StringComparison.Ordinal);
            Assert.Equal(("12345678", true), await b.Receiver.Channel.ReceiveOkAsync().Within());
            Assert.False((await b.Receiver.Channel.ReceiveOkAsync().Within()).Ok);
            Assert.IsType<IpcProtocolException>(b.Receiver.Error);
        }
        var (c, d) = IpcSocketPair.Create(IpcCodec.Utf8(), maxFrameSize: 64);
        using (c)
        using (d)
        {
            await Assert.ThrowsAsync<ChannelClosedException>(() => c.Sender.Channel.SendAsync(null!).AsTask()).Within();
            Assert.Contains("A null value cannot be sent", c.Sender.Error!.Message, StringComparison.Ordinal);
        }
        var (e, f) = IpcSocketPair.Create(IpcCodec.Json(CodecTestJson.Default.OtherOrder, maxLength: 30), maxFrameSize: 64);
        using (e)
        using (f)
        {
            await e.Sender.Channel.SendAsync(new OtherOrder(1, "short")).Within();
            await Assert.ThrowsAsync<ChannelClosedException>(() => e.Sender.Channel.SendAsync(new OtherOrder(2, new string('y', 40))).AsTask()).Within();
            Assert.Equal(1, (await f.Receiver.Channel.ReceiveAsync().Within())!.Id);
        }
    }

    [Fact]
    public async Task A_JSON_sender_and_a_receiver_of_another_contract_refuse_each_other_at_the_hello()
    {
        var codec = IpcCodec.Json(CodecTestJson.Default.OtherOrder);
        var (raw, receiver) = RawPeer(IpcCodec.Json(CodecTestJson.Default.Order));
        using (raw)
        using (receiver)
        {
            Write(raw, Hello(codec, 64));
            Assert.False((await receiver.Channel.ReceiveOkAsync().Within()).Ok);
            Assert.Contains("Json<Order>", Assert.IsType<IpcProtocolException>(receiver.Error).Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Bad_codec_arguments_name_what_is_allowed()
    {
        Assert.Contains("from 0 to 16777216", Assert.Throws<ArgumentOutOfRangeException>(() => IpcCodec.Utf8(-1)).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => IpcCodec.Utf8((16 << 20) + 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => IpcCodec.Json(CodecTestJson.Default.Order, -1));
        Assert.Throws<ArgumentNullException>(() => IpcCodec.Json<Order>(null!));
        Assert.Equal("Utf8(max 10)", IpcCodec.Utf8(10).Name);
        Assert.Equal("Json<Order>(max 65536)", IpcCodec.Json(CodecTestJson.Default.Order).ToString());
    }
}
