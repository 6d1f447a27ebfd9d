using Xunit;

// Weft's scheduler is process-wide (as Go's is): tests that change MaxProcs or count goroutines must not overlap.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
