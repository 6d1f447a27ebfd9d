#!/usr/bin/env bash
# Builds and runs the C floor of the IPC rows (ipcfloor.c), printing "NAME.c VALUE UNIT" lines like
# bench/Weft.Bench. Needs gcc. Usage: bench/ipc-c/run.sh [ROUNDS] [ROW...]
set -euo pipefail
dir=$(cd "$(dirname "$0")" && pwd)
out=${TMPDIR:-/tmp}/weft-ipcfloor-$(id -u)
gcc -O2 -Wall -Wextra -Werror -o "$out" "$dir/ipcfloor.c" -lrt
exec "$out" "$@"
