#!/usr/bin/env bash
# Runs the Go 1.19 versions of the suite's workloads, printing "NAME.go VALUE UNIT" lines like bench/Weft.Bench.
# Needs Go 1.19 (Debian 12: apt-get install golang-1.19-go). Usage: bench/go/run.sh [WORKLOAD...]
set -euo pipefail
cd "$(dirname "$0")"
GO=${GO:-$(command -v go || echo /usr/lib/go-1.19/bin/go)}
export GOFLAGS=-mod=mod GOTOOLCHAIN=local
wants() { local w=$1; shift; [ $# -eq 0 ] && return 0; for a in "$@"; do [ "$a" = "$w" ] && return 0; done; return 1; }
run_root=0; for w in spawn sleepers parked; do wants "$w" "$@" && run_root=1; done
[ $run_root -eq 1 ] && "$GO" run . "$@"
run_chan=0; for w in pingpong spsc mpmc select select-park pairs; do wants "$w" "$@" && run_chan=1; done
[ $run_chan -eq 1 ] && (cd channels && "$GO" run . "$@")
wants mutex "$@" && "$GO" run ./mutex
ipc_rows=(); for w in ipc-pipe ipc-unix ipc-tcp ipc-unix-throughput; do [ $# -gt 0 ] && wants "$w" "$@" && ipc_rows+=("$w"); done
# The IPC rows spawn processes and take a while, so they run only when asked for by name.
[ ${#ipc_rows[@]} -gt 0 ] && "$GO" run ./ipc "${ipc_rows[@]}"
exit 0
