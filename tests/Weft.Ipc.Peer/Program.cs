// The other process of Weft.Ipc's cross-process tests and benchmarks. A test starts it as
// `dotnet Weft.Ipc.Peer.dll <role> [args...]` (tests/Weft.Ipc.Tests/PeerProcess.cs builds that command line), and
// the role decides what this process does with the endpoint it was told about: echo, count, hold a lock, die.
//
// Roles are static methods marked [Role("name")] anywhere in this assembly, one file per mechanism, so that each
// mechanism's tests add their roles without touching a shared switch. A role returns the exit code. Whatever a role
// prints on stdout is the test's to assert on; a line "ready" is the conventional "the endpoint is open" signal.
// An unknown role, or a role that throws, exits with code 2 and the reason on stderr, so a test sees why.
using System.Reflection;
using Weft.Ipc.Peer;

if (args.Length == 0)
{
    Console.Error.WriteLine("usage: Weft.Ipc.Peer <role> [args...]; roles: " + string.Join(", ", Roles.Names));
    return 2;
}
if (!Roles.TryGet(args[0], out var role))
{
    Console.Error.WriteLine($"unknown role '{args[0]}'; roles: {string.Join(", ", Roles.Names)}");
    return 2;
}
try
{
    object? result = role.Invoke(null, [args[1..]]);
    if (result is Task<int> task) return task.GetAwaiter().GetResult();
    return (int)result!;
}
catch (TargetInvocationException ex) when (ex.InnerException is not null)
{
    Console.Error.WriteLine($"role '{args[0]}' failed: {ex.InnerException}");
    return 2;
}

namespace Weft.Ipc.Peer
{
    /// <summary>Marks a static method <c>int M(string[] args)</c> or <c>Task&lt;int&gt; M(string[] args)</c> as a role.</summary>
    [AttributeUsage(AttributeTargets.Method)]
    internal sealed class RoleAttribute(string name) : Attribute
    {
        public string Name { get; } = name;
    }

    internal static class Roles
    {
        private static readonly Dictionary<string, MethodInfo> All = Discover();

        public static IEnumerable<string> Names => All.Keys.Order();

        public static bool TryGet(string name, out MethodInfo method) => All.TryGetValue(name, out method!);

        private static Dictionary<string, MethodInfo> Discover()
        {
            var roles = new Dictionary<string, MethodInfo>(StringComparer.Ordinal);
            foreach (var type in typeof(Roles).Assembly.GetTypes())
            foreach (var m in type.GetMethods(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic))
            {
                if (m.GetCustomAttribute<RoleAttribute>() is not { } attr) continue;
                if (m.GetParameters() is not [{ ParameterType: var p }] || p != typeof(string[])
                    || (m.ReturnType != typeof(int) && m.ReturnType != typeof(Task<int>)))
                    throw new InvalidOperationException($"role '{attr.Name}' ({type.Name}.{m.Name}) must be int or Task<int> M(string[] args)");
                if (!roles.TryAdd(attr.Name, m)) throw new InvalidOperationException($"role '{attr.Name}' is defined twice");
            }
            return roles;
        }
    }

    /// <summary>Roles that check the harness itself.</summary>
    internal static class HarnessRoles
    {
        /// <summary>Prints "ready", then echoes stdin lines to stdout until EOF.</summary>
        [Role("echo-lines")]
        public static int EchoLines(string[] args)
        {
            Console.WriteLine("ready");
            Console.Out.Flush();
            while (Console.ReadLine() is { } line)
            {
                Console.WriteLine(line);
                Console.Out.Flush();
            }
            return 0;
        }

        /// <summary>Prints "ready", then sleeps until killed (a target for kill -9 tests).</summary>
        [Role("sleep")]
        public static int Sleep(string[] args)
        {
            Console.WriteLine("ready");
            Console.Out.Flush();
            Thread.Sleep(Timeout.Infinite);
            return 0;
        }
    }
}
