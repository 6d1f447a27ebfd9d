using Weft.ModelCheck.Harness;

namespace Weft.Runtime;

// The model-check build's body for the hook that src/Weft/Runtime/ModelPoint.cs declares: every ModelPoint.Here()
// in the real source becomes a scheduling point of the checker, labelled with the member and line it sits at.
internal static partial class ModelPoint
{
    static partial void OnPoint(string member, int line) => ModelChecker.Point($"{member}:{line}");
}
