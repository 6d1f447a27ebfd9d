using Weft.Testing;
using Xunit;

namespace Weft.Tests.Docs;

/// <summary>The README's examples, run as written, so the first thing a user copies works.</summary>
public class ReadmeExampleTests
{
    [Fact]
    public async Task ThirtySecondsOfWeft()
    {
        var printed = new List<string>();
        async Task Example()
        {
            var results = new Chan<string>();
            foreach (var url in new[] { "a", "b", "c" })
            {
                Go.Run(async () =>
                {
                    await Go.Sleep(TimeSpan.FromMilliseconds(10));
                    await results.SendAsync($"fetched {url}");
                });
            }

            var sel = new Select();
            var result = sel.Receive(results);
            var timeout = sel.Timeout(TimeSpan.FromSeconds(1));
            for (int i = 0; i < 3; i++)
            {
                if (await sel.WaitAsync() == result.Index) printed.Add(result.Value!);
                else printed.Add("timed out");
            }
        }
        await Example().Within();
        Assert.Equal(new[] { "fetched a", "fetched b", "fetched c" }, printed.Order());
    }

    [Fact]
    public async Task TheBubbleExample()
    {
        DateTimeOffset end = default;
        await Bubble.Run(async bubble =>
        {
            Go.Run(async () => await Go.Sleep(TimeSpan.FromHours(1)));
            await bubble.WaitIdleAsync();
            await Go.Sleep(TimeSpan.FromHours(2));
            end = bubble.Now;
        }, seed: 42).Within();
        Assert.Equal(Bubble.Epoch + TimeSpan.FromHours(2), end);
    }
}
