// The code fix for WEFT0001: `once.Do(async () => ...)` becomes `await once.DoAsync(async () => ...)` where the type
// has that awaitable counterpart (the analyzer says so in the diagnostic's properties) and the call sits in an async
// method or lambda, so the added await compiles. Elsewhere no fix is offered: making the caller async changes its
// signature, which is the user's decision.

using System.Collections.Immutable;
using System.Composition;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Weft.Analyzers;

/// <summary>Replaces a call that discards async work with an awaited call to its <c>NameAsync</c> counterpart.</summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(UseAsyncCounterpartCodeFix)), Shared]
public sealed class UseAsyncCounterpartCodeFix : CodeFixProvider
{
    /// <inheritdoc/>
    public override ImmutableArray<string> FixableDiagnosticIds => ImmutableArray.Create(DiscardedAsyncWorkAnalyzer.Id);

    /// <inheritdoc/>
    public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

    /// <inheritdoc/>
    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        if (root is null) return;
        foreach (var diagnostic in context.Diagnostics)
        {
            if (!diagnostic.Properties.TryGetValue(DiscardedAsyncWorkAnalyzer.AsyncCounterpartKey, out string? asyncName) || asyncName is null) continue;
            var argument = root.FindNode(diagnostic.Location.SourceSpan, getInnermostNodeForTie: true);
            var invocation = argument.FirstAncestorOrSelf<InvocationExpressionSyntax>();
            if (invocation?.Parent is not ExpressionStatementSyntax statement || !InAsyncCode(statement)) continue;
            context.RegisterCodeFix(
                CodeAction.Create(
                    $"Use 'await {asyncName}'",
                    ct => Rewrite(context.Document, root, statement, invocation, asyncName),
                    equivalenceKey: "UseAsyncCounterpart"),
                diagnostic);
        }
    }

    private static bool InAsyncCode(SyntaxNode node)
    {
        foreach (var ancestor in node.Ancestors())
        {
            switch (ancestor)
            {
                case AnonymousFunctionExpressionSyntax lambda:
                    return lambda.AsyncKeyword.IsKind(SyntaxKind.AsyncKeyword);
                case LocalFunctionStatementSyntax local:
                    return local.Modifiers.Any(SyntaxKind.AsyncKeyword);
                case MethodDeclarationSyntax method:
                    return method.Modifiers.Any(SyntaxKind.AsyncKeyword);
                case CompilationUnitSyntax:
                    return true; // top-level statements may await
            }
        }
        return false;
    }

    private static Task<Document> Rewrite(Document document, SyntaxNode root, ExpressionStatementSyntax statement,
                                          InvocationExpressionSyntax invocation, string asyncName)
    {
        ExpressionSyntax callee = invocation.Expression switch
        {
            MemberAccessExpressionSyntax member => member.WithName(SyntaxFactory.IdentifierName(asyncName).WithTriviaFrom(member.Name)),
            IdentifierNameSyntax name => SyntaxFactory.IdentifierName(asyncName).WithTriviaFrom(name),
            var other => other,
        };
        var awaited = SyntaxFactory.AwaitExpression(invocation.WithExpression(callee).WithoutLeadingTrivia())
            .WithLeadingTrivia(invocation.GetLeadingTrivia());
        var newStatement = statement.WithExpression(awaited);
        return Task.FromResult(document.WithSyntaxRoot(root.ReplaceNode(statement, newStatement)));
    }
}
