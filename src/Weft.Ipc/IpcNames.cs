// IpcNames — the names of kernel objects that live in one flat namespace per kind (POSIX shared memory, named
// semaphores): "/" + a name the caller chose, checked once here so every kind refuses the same bad names the same way.
// No slash inside (the kernel would refuse it, or a path could escape /dev/shm), no "." or "..", printable ASCII only.

using System.Text.RegularExpressions;

namespace Weft.Ipc;

internal static partial class IpcNames
{
    [GeneratedRegex("^[A-Za-z0-9._-]{1,200}$")]
    private static partial Regex Pattern();

    /// <summary>"/" + <paramref name="name"/>, or an ArgumentException naming <paramref name="kind"/> and what is allowed.</summary>
    internal static string ToPath(string name, string kind, string parameter = "name")
    {
        ArgumentNullException.ThrowIfNull(name, parameter);
        if (!Pattern().IsMatch(name) || name is "." or "..")
            throw new ArgumentException($"{kind} name '{name}' is not valid: expected 1 to 200 characters from A-Z, a-z, 0-9, '.', '_' and '-' (no slash), other than '.' and '..'.", parameter);
        return "/" + name;
    }
}
