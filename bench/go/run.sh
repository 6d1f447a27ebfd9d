#!/usr/bin/env bash
# Runs the Go 1.19 versions of the workloads. Needs Go 1.19: `apt-get install golang-1.19-go` on Debian 12.
set -euo pipefail
cd "$(dirname "$0")"
GO=${GO:-$(command -v go || echo /usr/lib/go-1.19/bin/go)}
exec "$GO" run . "$@"
