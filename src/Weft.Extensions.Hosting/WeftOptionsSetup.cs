// Binding and validation of WeftOptions.
//
// The section is read by hand rather than with ConfigurationBinder: the binder's message for a bad value ("Failed to
// convert configuration value at 'Weft:DeadlockDetection' to type ...") says what failed but not what is allowed, it
// ignores misspelt keys unless asked, and it throws at the first problem. Here every problem in the section is
// collected (parse errors by the binder below, range errors by the validator, which also sees values set in code)
// and reported together by one OptionsValidationException when the host starts (ValidateOnStart), each naming the
// key, the value and what is allowed.

using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Weft.Extensions.Hosting;

/// <summary>Reads the <c>Weft</c> section into <see cref="WeftOptions"/>; what it cannot read it records in
/// <see cref="WeftOptions.BindErrors"/> for <see cref="WeftOptionsValidator"/>.</summary>
internal sealed class WeftOptionsBinder(IConfiguration? configuration) : IConfigureOptions<WeftOptions>
{
    private static readonly string[] s_keys =
        [nameof(WeftOptions.MaxProcs), nameof(WeftOptions.BlockingThreshold), nameof(WeftOptions.DeadlockDetection), nameof(WeftOptions.UnhandledException)];

    public void Configure(WeftOptions options)
    {
        if (configuration is null) return; // a container without configuration: code and WEFT_* variables only
        var section = configuration.GetSection(WeftOptions.SectionName);
        foreach (var child in section.GetChildren())
        {
            string key = child.Key;
            string path = child.Path;
            string? value = child.Value;
            if (!s_keys.Contains(key, StringComparer.OrdinalIgnoreCase))
            {
                options.BindErrors.Add($"{path} is not a Weft setting: expected {string.Join(", ", s_keys)} (keys under {WeftOptions.SectionName}).");
                continue;
            }
            if (value is null && child.GetChildren().Any())
            {
                options.BindErrors.Add($"{path} is a section: expected a single value.");
                continue;
            }
            if (string.IsNullOrWhiteSpace(value)) continue; // empty means unset, as for an unset WEFT_* variable
            string v = value.Trim();

            if (key.Equals(nameof(WeftOptions.MaxProcs), StringComparison.OrdinalIgnoreCase))
            {
                if (int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n)) options.MaxProcs = n;
                else options.BindErrors.Add($"{path}='{value}' is not valid: {WeftOptionsValidator.MaxProcsAllowed}");
            }
            else if (key.Equals(nameof(WeftOptions.BlockingThreshold), StringComparison.OrdinalIgnoreCase))
            {
                if (TimeSpan.TryParse(v, CultureInfo.InvariantCulture, out var t)) options.BlockingThreshold = t;
                else options.BindErrors.Add($"{path}='{value}' is not valid: {WeftOptionsValidator.ThresholdAllowed}");
            }
            else if (key.Equals(nameof(WeftOptions.DeadlockDetection), StringComparison.OrdinalIgnoreCase))
            {
                if (TryParseName(v, out DeadlockDetection mode)) options.DeadlockDetection = mode;
                else options.BindErrors.Add($"{path}='{value}' is not valid: {WeftOptionsValidator.DeadlockAllowed}");
            }
            else
            {
                if (TryParseName(v, out UnhandledGoroutineExceptionBehavior behavior)) options.UnhandledException = behavior;
                else options.BindErrors.Add($"{path}='{value}' is not valid: {WeftOptionsValidator.UnhandledAllowed}");
            }
        }
    }

    // Names only: Enum.TryParse alone also accepts "7" or "1,2", which are not settings anyone means.
    private static bool TryParseName<TEnum>(string value, out TEnum result) where TEnum : struct, Enum
    {
        result = default;
        return !char.IsAsciiDigit(value[0]) && value[0] is not '-' and not '+'
            && Enum.TryParse(value, ignoreCase: true, out result) && Enum.IsDefined(result);
    }
}

/// <summary>Checks the final <see cref="WeftOptions"/> (configuration and code alike) and reports every problem at once.</summary>
internal sealed class WeftOptionsValidator : IValidateOptions<WeftOptions>
{
    internal const string MaxProcsAllowed =
        "expected a whole number of processors from 1 to 1024 (leave it unset to use WEFT_MAXPROCS or Environment.ProcessorCount).";
    internal const string ThresholdAllowed =
        "expected a TimeSpan from 00:00:00.001 to 00:01:00, e.g. \"00:00:00.020\" for 20 ms (leave it unset to use WEFT_BLOCKING_THRESHOLD_MS or 10 ms).";
    internal const string DeadlockAllowed = "expected Off, Report or Fail (leave it unset to use WEFT_DEADLOCK or Fail).";
    internal const string UnhandledAllowed = "expected StopHost or Ignore (default StopHost).";

    public ValidateOptionsResult Validate(string? name, WeftOptions options)
    {
        var failures = new List<string>(options.BindErrors);
        string section = WeftOptions.SectionName;
        if (options.MaxProcs is int n && (n < 1 || n > 1024))
            failures.Add($"{section}:MaxProcs={n} is not valid: {MaxProcsAllowed}");
        if (options.BlockingThreshold is TimeSpan t && (t < TimeSpan.FromMilliseconds(1) || t > TimeSpan.FromSeconds(60)))
            failures.Add($"{section}:BlockingThreshold={t.ToString("c", CultureInfo.InvariantCulture)} is not valid: {ThresholdAllowed}");
        if (options.DeadlockDetection is DeadlockDetection d && !Enum.IsDefined(d))
            failures.Add($"{section}:DeadlockDetection={(int)d} is not valid: {DeadlockAllowed}");
        if (!Enum.IsDefined(options.UnhandledException))
            failures.Add($"{section}:UnhandledException={(int)options.UnhandledException} is not valid: {UnhandledAllowed}");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
