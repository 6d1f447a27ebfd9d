using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Testing;

namespace Weft.Analyzers.Tests;

/// <summary>Compiles snippets against Weft.dll and this process's .NET libraries, as a project on the .NET 10 SDK would.</summary>
internal static class Compiler
{
    /// <summary>The runtime's own assemblies (the same surface as net10.0's reference assemblies) and Weft.</summary>
    public static readonly ImmutableArray<MetadataReference> References =
    [
        .. ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!)
            .Split(Path.PathSeparator)
            .Where(p => Path.GetFileName(p).StartsWith("System.", StringComparison.Ordinal) || Path.GetFileName(p) is "mscorlib.dll" or "netstandard.dll")
            .Select(p => MetadataReference.CreateFromFile(p)),
        MetadataReference.CreateFromFile(typeof(Go).Assembly.Location),
    ];

    /// <summary>For Microsoft.CodeAnalysis.Testing: no reference package to download; <see cref="References"/> instead.</summary>
    public static readonly ReferenceAssemblies NoPackages = new("net10.0");

    public const string Usings = """
        using System;
        using System.Threading;
        using System.Threading.Tasks;
        using Weft;
        using Weft.Sync;
        using Weft.Threading;

        """;

    public static CSharpCompilation Compile(string body)
    {
        string source = Usings + "#nullable enable\nstatic class Snippet\n{\n    static async Task Main()\n    {\n" + body + "\n    }\n}\n";
        var tree = CSharpSyntaxTree.ParseText(source, new CSharpParseOptions(LanguageVersion.CSharp14));
        return CSharpCompilation.Create("Snippet", [tree], References,
            new CSharpCompilationOptions(OutputKind.ConsoleApplication, nullableContextOptions: NullableContextOptions.Enable));
    }

    /// <summary>The method that the call marked <c>/*here*/</c> binds to, after checking that the snippet has no error.</summary>
    public static string Bound(string body)
    {
        var compilation = Compile(body);
        var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        if (errors.Count != 0) throw new InvalidOperationException("The snippet does not compile:\n" + string.Join("\n", errors));
        var tree = compilation.SyntaxTrees[0];
        int marker = tree.ToString().IndexOf("/*here*/", StringComparison.Ordinal);
        if (marker < 0) throw new InvalidOperationException("Mark the call with /*here*/.");
        var invocation = tree.GetRoot().DescendantNodes().OfType<InvocationExpressionSyntax>()
            .Where(i => i.SpanStart >= marker).OrderBy(i => i.SpanStart).First();
        var symbol = compilation.GetSemanticModel(tree).GetSymbolInfo(invocation).Symbol as IMethodSymbol
            ?? throw new InvalidOperationException($"'{invocation}' binds to no single method.");
        var format = SymbolDisplayFormat.MinimallyQualifiedFormat;
        string typeArguments = symbol.IsGenericMethod ? $"<{string.Join(", ", symbol.TypeArguments.Select(t => t.ToDisplayString(format)))}>" : "";
        var parameters = symbol.Parameters
            .Where(p => !p.GetAttributes().Any(a => a.AttributeClass?.Name is "CallerFilePathAttribute" or "CallerLineNumberAttribute"))
            .Select(p => p.Type.ToDisplayString(format));
        return $"{symbol.ContainingType.Name}.{symbol.Name}{typeArguments}({string.Join(", ", parameters)})";
    }

    /// <summary>The diagnostics of a snippet, compiler and WEFT0001 together, as "ID: message".</summary>
    public static async Task<List<Diagnostic>> Diagnostics(string body)
    {
        var compilation = Compile(body);
        var withAnalyzer = compilation.WithAnalyzers([new DiscardedAsyncWorkAnalyzer()]);
        return [.. (await withAnalyzer.GetAllDiagnosticsAsync()).Where(d => d.Severity >= DiagnosticSeverity.Warning)];
    }
}
