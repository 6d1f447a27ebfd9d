using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Runtime.InteropServices;
using System.Xml.Linq;
using Xunit;

namespace Weft.Samples.Tests;

/// <summary>
/// The package's buildTransitive/Weft.targets aliases exactly the public Weft types whose names clash with a type in
/// a namespace that an SDK imports implicitly. A new public type named like a BCL or ASP.NET Core one (Barrier, Lock,
/// ...) fails this test until it gets its alias.
/// </summary>
public class ImplicitUsingAliasTests
{
    // The implicit usings of Microsoft.NET.Sdk, Microsoft.NET.Sdk.Web and Microsoft.NET.Sdk.Worker (.NET 10 SDK).
    private static readonly string[] s_implicitNamespaces =
    [
        "System", "System.Collections.Generic", "System.IO", "System.Linq", "System.Net.Http", "System.Threading", "System.Threading.Tasks",
        "System.Net.Http.Json", "Microsoft.AspNetCore.Builder", "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Http",
        "Microsoft.AspNetCore.Routing", "Microsoft.Extensions.Configuration", "Microsoft.Extensions.DependencyInjection",
        "Microsoft.Extensions.Hosting", "Microsoft.Extensions.Logging",
    ];

    [Fact]
    public void The_aliases_are_exactly_the_public_Weft_types_that_clash_with_an_implicit_namespace()
    {
        var frameworkTypes = PublicTypeNamesIn(FrameworkAssemblies(), s_implicitNamespaces);
        Assert.Contains("Mutex", frameworkTypes);     // the scan sees the BCL
        Assert.Contains("HttpContext", frameworkTypes); // and ASP.NET Core

        var weftTypes = typeof(Go).Assembly.GetExportedTypes().Where(t => !t.IsNested).ToList();
        var clashing = weftTypes.Where(t => frameworkTypes.Contains(t.Name)).ToDictionary(t => t.Name, t => t.FullName!);

        var aliases = XDocument.Load(Path.Combine(ChildProcess.RepoRoot, "src", "Weft", "buildTransitive", "Weft.targets"))
            .Descendants("Using")
            .ToDictionary(u => (string)u.Attribute("Alias")!, u => (string)u.Attribute("Include")!);

        Assert.Equal(clashing.OrderBy(kv => kv.Key), aliases.OrderBy(kv => kv.Key));

        var hostingClashes = typeof(Weft.Extensions.Hosting.WeftOptions).Assembly.GetExportedTypes()
            .Where(t => !t.IsNested && frameworkTypes.Contains(t.Name)).Select(t => t.FullName);
        Assert.Empty(hostingClashes);
    }

    private static IEnumerable<string> FrameworkAssemblies()
    {
        string netcore = RuntimeEnvironment.GetRuntimeDirectory();
        var shared = Directory.GetParent(netcore.TrimEnd(Path.DirectorySeparatorChar))!.Parent!;
        var aspnet = new DirectoryInfo(Path.Combine(shared.FullName, "Microsoft.AspNetCore.App"));
        Assert.True(aspnet.Exists, $"the ASP.NET Core shared framework is not installed beside {netcore}");
        string aspnetDir = aspnet.GetDirectories().OrderBy(d => Version.TryParse(d.Name.Split('-')[0], out var v) ? v : new Version()).Last().FullName;
        return Directory.GetFiles(netcore, "*.dll").Concat(Directory.GetFiles(aspnetDir, "*.dll"));
    }

    private static HashSet<string> PublicTypeNamesIn(IEnumerable<string> assemblies, string[] namespaces)
    {
        var wanted = namespaces.ToHashSet(StringComparer.Ordinal);
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (string path in assemblies)
        {
            using var stream = File.OpenRead(path);
            using var pe = new PEReader(stream);
            if (!pe.HasMetadata) continue;
            var md = pe.GetMetadataReader();
            foreach (var handle in md.TypeDefinitions)
            {
                var type = md.GetTypeDefinition(handle);
                if (!type.GetDeclaringType().IsNil) continue;
                if ((type.Attributes & TypeAttributes.VisibilityMask) != TypeAttributes.Public) continue;
                if (!wanted.Contains(md.GetString(type.Namespace))) continue;
                names.Add(md.GetString(type.Name)); // generic arity stays in the name (Chan`1), as in Type.Name
            }
        }
        return names;
    }
}
