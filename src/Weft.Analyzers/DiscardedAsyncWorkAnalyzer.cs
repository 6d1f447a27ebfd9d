// WEFT0001 — async work passed to Weft where its result is discarded.
//
// What it catches. Weft's entry points that take user code come with Task and ValueTask overloads (Go.Run,
// WaitGroup.Go, ErrGroup.Go, ThreadPoolExecutor.Execute/Submit, ScheduledExecutor.Schedule*), so an async lambda binds
// to one that awaits it. Some entry points are synchronous by nature and have no such overload (Once.Do, OnceFunc,
// Go.Blocking, Go.AfterFunc(Action) for a ValueTask...). There C# still accepts async work, in two ways, and both
// lose it silently:
//   1. The parameter is a void-returning delegate (Action...): an async lambda becomes `async void` (it returns at
//      its first await, and its exception goes to the SynchronizationContext or crashes the process), and a lambda
//      whose body is a task-returning call drops that task and its exception.
//   2. The parameter is Func<T> where the method's own type parameter T is inferred from the lambda (Go.Blocking<T>,
//      ThreadPoolExecutor.Submit<T> before its async overloads): T becomes Task<...>, the caller gets a task of a task,
//      and "done" means "started".
// A type argument written out by the caller (new OnceValue<Task<int>>(...), Submit<Task<int>>(...)) is a choice, not
// an accident, and is not reported; neither is any method outside the Weft namespace.
//
// Rejected alternatives
//   - An error instead of a warning: `async () => { }` to an Action can be deliberate (fire-and-forget into a UI
//     context); a warning with a code fix is what the BCL's own analyzers do (VSTHRD101, CA2012).
//   - Matching on method names: the rule keys on the parameter's delegate shape and on the Weft namespace, so a new
//     entry point is covered without touching the analyzer.
// Invariant: a call that binds to an overload taking Func<Task>/Func<ValueTask> (or their generic forms) is never
// reported: those overloads run the work to completion.

using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace Weft.Analyzers;

/// <summary>Reports async work passed to a Weft method that discards its task (WEFT0001).</summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class DiscardedAsyncWorkAnalyzer : DiagnosticAnalyzer
{
    /// <summary>The diagnostic's id.</summary>
    public const string Id = "WEFT0001";

    /// <summary>Set on a diagnostic when the method has an awaitable counterpart named <c>NameAsync</c> (the code fix's hint).</summary>
    public const string AsyncCounterpartKey = "AsyncCounterpart";

    internal static readonly DiagnosticDescriptor Rule = new(
        Id,
        title: "Async lambda passed where its result is discarded",
        messageFormat: "{0}",
        category: "Reliability",
        defaultSeverity: DiagnosticSeverity.Warning,
        isEnabledByDefault: true,
        description: "The Weft method takes a delegate whose result it does not await, so the async work passed to it " +
                     "is not run to completion: the call returns at the work's first await and its exception is lost. " +
                     "Use the method's async counterpart, or make the work synchronous.");

    /// <inheritdoc/>
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics => ImmutableArray.Create(Rule);

    /// <inheritdoc/>
    public override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.EnableConcurrentExecution();
        context.RegisterOperationAction(AnalyzeArgument, OperationKind.Argument);
    }

    private static void AnalyzeArgument(OperationAnalysisContext context)
    {
        var argument = (IArgumentOperation)context.Operation;
        if (argument.Parameter is not { } parameter) return;
        if (parameter.ContainingSymbol is not IMethodSymbol method || !IsWeft(method.ContainingType)) return;
        if (Unwrap(argument.Value) is not IDelegateCreationOperation creation) return;
        if (creation.Type is not INamedTypeSymbol { DelegateInvokeMethod: { } invoke }) return;

        string? why = null;
        if (invoke.ReturnsVoid)
        {
            if (creation.Target is IAnonymousFunctionOperation { Symbol.IsAsync: true })
                why = $"'{Display(method)}' takes a void-returning delegate, so this async lambda runs as 'async void': the call returns at its first await and its exception is not observed";
            else if (DiscardedExpressionType(creation.Target) is { } type)
                why = $"'{Display(method)}' takes a void-returning delegate, so the '{type.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat)}' this lambda returns is discarded with its exception";
        }
        else if (InferredAwaitable(argument, parameter, method) is { } inferred)
        {
            why = $"'{Display(method)}' infers '{inferred.Name}' as '{inferred.Type.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat)}' from this lambda, so it returns the task unawaited: it completes when the work has started, not when it has ended";
        }
        if (why is null) return;

        var properties = ImmutableDictionary<string, string?>.Empty;
        if (HasAsyncCounterpart(method)) properties = properties.Add(AsyncCounterpartKey, method.Name + "Async");
        context.ReportDiagnostic(Diagnostic.Create(Rule, argument.Value.Syntax.GetLocation(), properties, why));
    }

    private static string Display(IMethodSymbol method) =>
        method.MethodKind == MethodKind.Constructor ? $"new {method.ContainingType.Name}(...)" : $"{method.ContainingType.Name}.{method.Name}";

    private static IOperation Unwrap(IOperation value)
    {
        while (value is IConversionOperation { IsImplicit: true } conversion) value = conversion.Operand;
        return value;
    }

    private static bool IsWeft(INamedTypeSymbol? type)
    {
        for (var ns = type?.ContainingNamespace; ns is { IsGlobalNamespace: false }; ns = ns.ContainingNamespace)
        {
            if (ns.ContainingNamespace is { IsGlobalNamespace: true } && ns.Name == "Weft") return true;
        }
        return false;
    }

    /// <summary>The awaitable type of an expression-bodied lambda, or of a method group's method, converted to a void delegate.</summary>
    private static ITypeSymbol? DiscardedExpressionType(IOperation target)
    {
        switch (target)
        {
            case IAnonymousFunctionOperation lambda
                when lambda.Syntax is LambdaExpressionSyntax { ExpressionBody: { } body }:
                var type = lambda.SemanticModel?.GetTypeInfo(body).Type;
                return IsAwaitable(type) ? type : null;
            case IMethodReferenceOperation reference:
                return IsAwaitable(reference.Method.ReturnType) ? reference.Method.ReturnType : null;
            default:
                return null;
        }
    }

    /// <summary>
    /// For a parameter whose delegate returns a type parameter of <paramref name="method"/> itself, the awaitable type
    /// that was inferred for it; null when the caller wrote the type arguments out.
    /// </summary>
    private static (string Name, ITypeSymbol Type)? InferredAwaitable(IArgumentOperation argument, IParameterSymbol parameter, IMethodSymbol method)
    {
        if (!method.IsGenericMethod || argument.Parent is not IInvocationOperation invocation) return null;
        if (parameter.OriginalDefinition.Type is not INamedTypeSymbol { DelegateInvokeMethod: { } original }) return null;
        if (original.ReturnType is not ITypeParameterSymbol { TypeParameterKind: TypeParameterKind.Method } typeParameter) return null;
        if (WritesTypeArguments(invocation.Syntax)) return null;
        var inferred = method.TypeArguments[typeParameter.Ordinal];
        return IsAwaitable(inferred) ? (typeParameter.Name, inferred) : null;
    }

    private static bool WritesTypeArguments(SyntaxNode invocation) =>
        invocation is InvocationExpressionSyntax { Expression: var callee } &&
        (callee is GenericNameSyntax || callee is MemberAccessExpressionSyntax { Name: GenericNameSyntax });

    /// <summary>Task, ValueTask, their generic forms, or anything with an instance GetAwaiter() (the await pattern).</summary>
    internal static bool IsAwaitable(ITypeSymbol? type)
    {
        if (type is null || type.SpecialType == SpecialType.System_Void || type.TypeKind == TypeKind.Error) return false;
        for (var t = type; t is not null; t = t.BaseType)
        {
            foreach (var member in t.GetMembers("GetAwaiter"))
            {
                if (member is IMethodSymbol { IsStatic: false, Parameters.Length: 0, ReturnsVoid: false }) return true;
            }
        }
        return false;
    }

    /// <summary>Whether the type has <c>NameAsync</c> with one delegate parameter more than the method's that returns an awaitable.</summary>
    private static bool HasAsyncCounterpart(IMethodSymbol method)
    {
        if (method.MethodKind != MethodKind.Ordinary) return false;
        foreach (var member in method.ContainingType.GetMembers(method.Name + "Async"))
        {
            if (member is not IMethodSymbol candidate || candidate.IsStatic != method.IsStatic) continue;
            foreach (var p in candidate.Parameters)
            {
                if (p.Type is INamedTypeSymbol { DelegateInvokeMethod: { } invoke } && IsAwaitable(invoke.ReturnType)) return true;
            }
        }
        return false;
    }
}
