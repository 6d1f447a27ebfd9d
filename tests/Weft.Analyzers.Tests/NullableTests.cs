using Microsoft.CodeAnalysis;
using Xunit;

namespace Weft.Analyzers.Tests;

/// <summary>
/// Issue 15, item 3: a receive on a closed channel gives default, and the declared types say so under
/// <c>#nullable enable</c>; a successful TryReceive does not.
/// </summary>
public class NullableTests
{
    private static List<string> Warnings(string body) =>
        [.. Compiler.Compile(body).GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning).Select(d => d.Id)];

    [Theory]
    [InlineData("var closed = new Chan<string>(); closed.Close(); string s = await closed.ReceiveAsync();", "CS8600")]
    [InlineData("var closed = new Chan<string>(); closed.Close(); string s = closed.Receive();", "CS8600")]
    [InlineData("var closed = new Chan<string>(); closed.Close(); string s = closed.Receive(out bool ok);", "CS8600")]
    [InlineData("var closed = new Chan<string>(); closed.Close(); var (v, ok) = await closed.ReceiveOkAsync(); int n = v.Length;", "CS8602")]
    [InlineData("ReceiveOnlyChan<string> r = new Chan<string>(); string s = await r.ReceiveAsync();", "CS8600")]
    [InlineData("var ch = new Chan<string>(); var sel = new Select(); var c = sel.Receive(ch); string s = c.Value;", "CS8600")]
    [InlineData("var ch = new Chan<string>(); ch.TryReceive(out var v); int n = v.Length;", "CS8602")]
    [InlineData("var ch = new Chan<string>(); ch.TryReceive(out var v, out bool ok); int n = v.Length;", "CS8602")]
    public void A_value_that_may_be_default_warns(string body, string expected) =>
        Assert.Contains(expected, Warnings(body));

    [Theory]
    [InlineData("var ch = new Chan<string>(); if (ch.TryReceive(out var v)) { int n = v.Length; }")]
    [InlineData("ReceiveOnlyChan<string> r = new Chan<string>(); if (r.TryReceive(out var v)) { int n = v.Length; }")]
    [InlineData("var ch = new Chan<int>(); int v = await ch.ReceiveAsync(); int w = ch.Receive(); await foreach (string s in new Chan<string>()) { int n = s.Length; }")]
    [InlineData("var reader = new Chan<string>().AsChannelReader(); if (reader.TryRead(out var v)) { int n = v.Length; }")]
    public void A_value_that_cannot_be_default_does_not_warn(string body) =>
        Assert.Empty(Warnings(body));
}
