using System.Reflection;
using System.Reflection.Emit;
using Xunit;

namespace Weft.Tests.Runtime;

/// <summary>
/// Issue 14's seam: the runtime (namespace Weft.Runtime) knows none of its users. It defines the park primitive and
/// the waiting kit; channels and select (Weft.Channels) and the public testing facade (Weft.Testing) build on it, never
/// the other way round. Checked on the compiled assembly, not the source: every field, base type, interface and
/// signature of every Runtime type, and every type, method and field its IL refers to.
/// </summary>
public sealed class LayeringTests
{
    private static readonly string[] Users = ["Weft.Channels", "Weft.Testing"];

    private static readonly Dictionary<short, OpCode> OpCodesByValue = typeof(OpCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!)
        .ToDictionary(o => o.Value);

    [Fact]
    public void No_runtime_type_refers_to_channels_or_the_testing_facade()
    {
        var runtimeTypes = typeof(Go).Assembly.GetTypes().Where(t => t.Namespace == "Weft.Runtime").ToArray();
        Assert.Contains(runtimeTypes, t => t.Name == "Scheduler"); // the check reads the types it is about
        var found = new List<string>();
        foreach (var type in runtimeTypes)
        {
            Check(type.BaseType, $"{type} derives from it", found);
            foreach (var i in type.GetInterfaces()) Check(i, $"{type} implements it", found);
            const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
            foreach (var f in type.GetFields(all)) Check(f.FieldType, $"field {type}.{f.Name}", found);
            foreach (var m in type.GetMethods(all).Cast<MethodBase>().Concat(type.GetConstructors(all)))
            {
                if (m is MethodInfo mi) Check(mi.ReturnType, $"{type}.{m.Name} returns it", found);
                foreach (var p in m.GetParameters()) Check(p.ParameterType, $"{type}.{m.Name} takes it", found);
                foreach (var member in ReferencedMembers(m))
                {
                    var owner = member as Type ?? member.DeclaringType;
                    Check(owner, $"{type}.{m.Name}'s code uses {member.Name}", found);
                }
            }
        }
        Assert.True(found.Count == 0, "the runtime names its users:\n" + string.Join("\n", found.Distinct()));
    }

    [Fact]
    public void The_IL_reader_sees_a_runtime_types_references()
    {
        // The reader above must find what a method's code refers to, or the check would pass for nothing: Go.Run's
        // code calls into the runtime's Goroutine type.
        var spawn = typeof(Go).GetMethod("Spawn", BindingFlags.NonPublic | BindingFlags.Static)!;
        Assert.Contains(ReferencedMembers(spawn), m => (m as Type ?? m.DeclaringType)?.Name == "Goroutine");
    }

    private static void Check(Type? type, string where, List<string> found)
    {
        if (type is null) return;
        if (type.HasElementType) // arrays, by-refs, pointers
        {
            Check(type.GetElementType(), where, found);
            return;
        }
        if (type.IsGenericType && !type.IsGenericTypeDefinition)
            foreach (var arg in type.GetGenericArguments()) Check(arg, where, found);
        if (type.Namespace is { } ns && Users.Any(u => ns == u || ns.StartsWith(u + ".", StringComparison.Ordinal)))
            found.Add($"{where}: {type.FullName}");
    }

    /// <summary>The types, methods and fields that <paramref name="method"/>'s IL refers to by token.</summary>
    private static IEnumerable<MemberInfo> ReferencedMembers(MethodBase method)
    {
        byte[]? il;
        try { il = method.GetMethodBody()?.GetILAsByteArray(); }
        catch (InvalidOperationException) { yield break; }
        if (il is null) yield break;
        var module = method.Module;
        Type[]? typeArgs = method.DeclaringType is { IsGenericType: true } d ? d.GetGenericArguments() : null;
        Type[]? methodArgs = method.IsGenericMethod ? method.GetGenericArguments() : null;
        for (int i = 0; i < il.Length;)
        {
            short value = il[i] == 0xFE ? (short)(0xFE00 | il[i + 1]) : il[i];
            i += il[i] == 0xFE ? 2 : 1;
            var op = OpCodesByValue[value];
            switch (op.OperandType)
            {
                case OperandType.InlineMethod:
                case OperandType.InlineField:
                case OperandType.InlineType:
                case OperandType.InlineTok:
                    MemberInfo? member = null;
                    try { member = module.ResolveMember(BitConverter.ToInt32(il, i), typeArgs, methodArgs); }
                    catch (ArgumentException) { }
                    if (member is not null) yield return member;
                    i += 4;
                    break;
                case OperandType.InlineSwitch:
                    i += 4 + 4 * BitConverter.ToInt32(il, i);
                    break;
                case OperandType.InlineI8:
                case OperandType.InlineR:
                    i += 8;
                    break;
                case OperandType.InlineBrTarget:
                case OperandType.InlineI:
                case OperandType.InlineSig:
                case OperandType.InlineString:
                case OperandType.ShortInlineR:
                    i += 4;
                    break;
                case OperandType.InlineVar:
                    i += 2;
                    break;
                case OperandType.ShortInlineBrTarget:
                case OperandType.ShortInlineI:
                case OperandType.ShortInlineVar:
                    i += 1;
                    break;
            }
        }
    }
}
