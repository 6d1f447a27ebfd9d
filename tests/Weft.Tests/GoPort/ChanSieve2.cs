using Xunit;

namespace Weft.Tests.GoPort;

/// <summary>
/// Port of Go's <c>test/chan/sieve2.go</c>: an Eratosthenes-like sieve over odd candidates, merging the streams of
/// multiples of each prime through a heap, with a feedback loop of primes and a select-driven proxy goroutine that
/// buffers without bound so the loop cannot deadlock. Checked against the primes below 100.
/// </summary>
public sealed class ChanSieve2
{
    private sealed class Program(ChanProgram p)
    {
        private readonly CancellationToken _stop = p.Stop;

        // The odd numbers from 5.
        private Chan<int> Odds()
        {
            var output = new Chan<int>(50);
            p.Go(async () =>
            {
                for (int n = 5; ; n += 2) await output.SendAsync(n, _stop);
            });
            return output;
        }

        // The odd multiples of the prime p, from p*p.
        private Chan<int> Multiples(int prime)
        {
            var output = new Chan<int>(10);
            p.Go(async () =>
            {
                for (int n = prime * prime; ; n += 2 * prime) await output.SendAsync(n, _stop);
            });
            return output;
        }

        // A channel that forwards to output through a buffer that grows as needed, so a send on it never blocks for
        // long: a select receives into the buffer, or sends its oldest value when the send case is switched on
        // (its channel is nil while the buffer is empty).
        private SendOnlyChan<int> SendProxy(SendOnlyChan<int> output)
        {
            var proxy = new Chan<int>(10);
            p.Go(async () =>
            {
                var buffer = new Queue<int>();
                var sel = new Select();
                var input = sel.Receive(proxy);
                var forward = sel.Send(output, 0);
                var target = forward.Channel;
                while (true)
                {
                    forward.Channel = buffer.Count == 0 ? null : target; // buffer empty: disable output
                    if (buffer.Count > 0) forward.Value = buffer.Peek();
                    if (await sel.WaitAsync(_stop) == input.Index) buffer.Enqueue(input.Value);
                    else buffer.Dequeue();
                }
            });
            return proxy;
        }

        // Takes the channel with the least head off the heap and puts it back keyed by its next value; returns the
        // head it had (Go: heap.Pop, read the next value, heap.Push).
        private async Task<int> PopAndAdvance(PriorityQueue<Chan<int>, int> heap)
        {
            heap.TryDequeue(out var least, out int head);
            heap.Enqueue(least!, await least!.ReceiveAsync(_stop));
            return head;
        }

        public Chan<int> Sieve()
        {
            var output = new Chan<int>(10);
            output.TrySend(2);
            output.TrySend(3);

            // The composites to eliminate, in increasing order.
            var composites = new Chan<int>(50);

            // The feedback loop.
            var primes = new Chan<int>(10);
            primes.TrySend(3);

            // Merge the channels of multiples of each prime into composites.
            p.Go(async () =>
            {
                var heap = new PriorityQueue<Chan<int>, int>(); // each channel keyed by the head taken from it
                int min = 15;
                while (true)
                {
                    var m = Multiples(await primes.ReceiveAsync(_stop));
                    int head = await m.ReceiveAsync(_stop);
                    while (min < head)
                    {
                        await composites.SendAsync(min, _stop);
                        min = await PopAndAdvance(heap);
                    }
                    while (min == head) min = await PopAndAdvance(heap);
                    await composites.SendAsync(head, _stop);
                    heap.Enqueue(m, await m.ReceiveAsync(_stop));
                }
            });

            // Sieve the composites out of the candidates.
            p.Go(async () =>
            {
                // The merger needs only the primes up to the square root of the one being found, so it receives
                // from primes far slower than this goroutine sends: without the proxy's unbounded buffer, primes
                // would fill and both goroutines would block.
                var feedback = SendProxy(primes);
                var candidates = Odds();
                int c = await candidates.ReceiveAsync(_stop);
                while (true)
                {
                    int composite = await composites.ReceiveAsync(_stop);
                    for (; c < composite; c = await candidates.ReceiveAsync(_stop))
                    {
                        await feedback.SendAsync(c, _stop);
                        await output.SendAsync(c, _stop);
                    }
                    if (c == composite) c = await candidates.ReceiveAsync(_stop);
                }
            });

            return output;
        }
    }

    [Fact]
    public async Task sieve2()
    {
        await ChanProgram.Run(async p =>
        {
            var primes = new Program(p).Sieve();
            foreach (int want in ChanSieve1.PrimesBelow100) Assert.Equal(want, await primes.ReceiveAsync());
        });
    }
}
