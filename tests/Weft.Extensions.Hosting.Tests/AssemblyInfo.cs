using Xunit;

// Weft's runtime settings, Go.UnhandledException and Environment.ExitCode are process-wide: one host at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
