#!/usr/bin/env bash
# How the scheduler scales with MaxProcs: Weft's workloads and their Go 1.19 twins at each P in PROCS (default
# "1 2 4 8 16"), then the .NET baseline of pairs and mpmc on all cores. Prints "weft P=N NAME VALUE UNIT" and
# "go P=N NAME.go VALUE UNIT" lines. Usage: [PROCS="1 2 4 8 16"] bench/scaling.sh   (about 7 minutes on 16 cores)
# Needs the .NET SDK and Go 1.19 (Debian: apt-get install golang-1.19-go). On a machine without the .NET SDK or Go, point BENCH_DLL at a copied
# Weft.Bench.dll (and DOTNET_ROOT at a copied runtime) and GO_BIN_DIR at prebuilt goroot/gochan/gomutex binaries
# (`CGO_ENABLED=0 go build` in bench/go, bench/go/channels and bench/go/mutex): that is how the 16-core
# figures in docs/performance.md were made.
set -uo pipefail
cd "$(dirname "$0")/.."
procs=${PROCS:-"1 2 4 8 16"}
if [ -z "${BENCH_DLL:-}" ]; then
  dotnet build -c Release bench/Weft.Bench >/dev/null || exit 1
  BENCH_DLL=bench/Weft.Bench/bin/Release/net10.0/Weft.Bench.dll
fi
if [ -z "${GO_BIN_DIR:-}" ]; then
  GO=${GO:-$(command -v go || echo /usr/lib/go-1.19/bin/go)}
  GO_BIN_DIR=$(mktemp -d)
  export GOFLAGS=-mod=mod GOTOOLCHAIN=local CGO_ENABLED=0
  (cd bench/go && "$GO" build -o "$GO_BIN_DIR/goroot" . && cd channels && "$GO" build -o "$GO_BIN_DIR/gochan" . \
    && cd ../mutex && "$GO" build -o "$GO_BIN_DIR/gomutex" .) || exit 1
fi
echo "# $(nproc) cpus, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)"
for p in $procs; do
  echo "## P=$p"
  WEFT_MAXPROCS=$p timeout 300 dotnet "$BENCH_DLL" spawn pingpong mpmc select pairs mutex 2>&1 | sed "s/^/weft P=$p /"
  GOMAXPROCS=$p timeout 120 "$GO_BIN_DIR/goroot" spawn 2>&1 | sed "s/^/go P=$p /"
  GOMAXPROCS=$p timeout 120 "$GO_BIN_DIR/gochan" pingpong mpmc select pairs 2>&1 | sed "s/^/go P=$p /"
  GOMAXPROCS=$p timeout 120 "$GO_BIN_DIR/gomutex" 2>&1 | sed "s/^/go P=$p /"
done
echo "## .NET baseline (all cores)"
timeout 300 dotnet "$BENCH_DLL" --baseline pairs mpmc 2>&1 | grep '\.tpl'
