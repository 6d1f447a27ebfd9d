#!/usr/bin/env bash
# Mutation testing (Stryker.NET 5.1.0, pinned in dotnet-tools.json) over the files named in stryker-config.json:
# Sync, the channel operation files, Select*, the run queue and the work queue.
#   tests/mutation/run.sh                      # every file in the config (long: hours on 2 cores)
#   tests/mutation/run.sh '**/Sync/Mutex.cs'   # one file or glob (the config's list is replaced)
# Reports land in tests/mutation/StrykerOutput/<date>/reports (html, json, markdown). Killed and timed-out mutants
# are counted apart there: a mutant is only "killed" when an assertion failed, "timeout" when the run hung.
set -euo pipefail
cd "$(dirname "$0")"
dotnet tool restore >/dev/null
args=()
for m in "$@"; do args+=(--mutate "$m"); done
exec dotnet stryker --config-file stryker-config.json "${args[@]}"
