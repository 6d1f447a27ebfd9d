#!/usr/bin/env bash
# Mutation testing (Stryker.NET 5.1.0, pinned in dotnet-tools.json) over the files named in stryker-config.json:
# Sync, the channel operation files, Select*, the run queue and the work queue.
#   tests/mutation/run.sh                      # every file in the config (long: hours on 2 cores)
#   tests/mutation/run.sh '**/Sync/Mutex.cs'   # one file or glob (the config's list is replaced)
#   tests/mutation/run.sh '**/Sync/Mutex.cs' --test-case-filter 'FullyQualifiedName~Mutex'   # other options pass through
# Reports land in tests/mutation/StrykerOutput/<date>/reports (html, json, markdown). Killed and timed-out mutants
# are counted apart there: a mutant is only "killed" when an assertion failed, "timeout" when the run hung.
#
# WEFT_TEST_TIMEOUT (default here 3 s, in a normal test run 30 s) bounds every wait of the tests. It must fire before
# Stryker's own limit (about 1.5 x the covering tests' time + additional-timeout, 60 s in the config: room for a run in which dozens of covering tests each fail a 3 s bounded wait), so that a mutant
# which hangs an operation fails the test's bounded wait and counts as killed by an assertion, not as a timeout.
set -euo pipefail
cd "$(dirname "$0")"
export WEFT_TEST_TIMEOUT="${WEFT_TEST_TIMEOUT:-3}"
# A goroutine's exception is printed instead of ending the test host (tests/Weft.Tests/MutationRun.cs).
export WEFT_MUTATION=1
dotnet tool restore >/dev/null
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --*) args+=("$@"); break ;;
    *) args+=(--mutate "$1"); shift ;;
  esac
done
exec nice -n 10 dotnet stryker --config-file stryker-config.json "${args[@]}"
