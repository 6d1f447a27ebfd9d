using Xunit;

namespace Weft.Tests;

public class TestTimeoutTests
{
    [Theory]
    [InlineData(null, 30.0)]
    [InlineData("", 30.0)]
    [InlineData("3", 3.0)]
    [InlineData("2.5", 2.5)]
    [InlineData("0.5", 0.5)]
    [InlineData("3600", 3600.0)]
    public void WEFT_TEST_TIMEOUT_is_read_in_seconds(string? value, double seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), TestTimeout.Parse(value));

    [Fact]
    public void AtMost_IsTheShorterOfTheBoundAndTheDefault()
    {
        Assert.Equal(TestTimeout.Default, TestTimeout.AtMost(TestTimeout.Default + TimeSpan.FromSeconds(1)));
        Assert.Equal(TimeSpan.FromMilliseconds(1), TestTimeout.AtMost(TimeSpan.FromMilliseconds(1)));
    }

    [Theory]
    [InlineData("0")]
    [InlineData("0.4")]
    [InlineData("-3")]
    [InlineData("3601")]
    [InlineData("3s")]
    [InlineData("2,5")]
    [InlineData("NaN")]
    [InlineData("Infinity")]
    public void A_bad_WEFT_TEST_TIMEOUT_names_the_variable_and_what_is_allowed(string value)
    {
        var e = Assert.Throws<InvalidOperationException>(() => TestTimeout.Parse(value));
        Assert.Contains($"WEFT_TEST_TIMEOUT='{value}'", e.Message);
        Assert.Contains("from 0.5 to 3600", e.Message);
    }
}
