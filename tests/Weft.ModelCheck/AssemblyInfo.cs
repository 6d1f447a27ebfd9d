// The checker runs one logical thread at a time; tests run one at a time too, so that a step switch costs one
// wake-up and the two cores of CI are not split between explorations.
[assembly: Xunit.CollectionBehavior(DisableTestParallelization = true)]
