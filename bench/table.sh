#!/usr/bin/env bash
# Runs the whole suite (Weft and its .NET baseline), then the Go 1.19 versions if Go is installed, and prints the
# README's markdown table. Usage: bench/table.sh [WORKLOAD...]   (about 10 minutes for all workloads on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp)
dotnet run -c Release --project bench/Weft.Bench -- --baseline "$@" | tee "$out"
if command -v go >/dev/null || [ -x /usr/lib/go-1.19/bin/go ]; then bench/go/run.sh "$@" | tee -a "$out"; fi
echo
echo "| workload | unit | Weft | .NET baseline | Go 1.19 | Weft ÷ Go | Weft ÷ .NET |"
echo "|---|---|---:|---:|---:|---:|---:|"
awk '
  { split($1, p, "."); name = p[1]; kind = (p[2] == "" ? "weft" : p[2]); v[name, kind] = $2; unit[name] = $3;
    if (!(name in seen)) { seen[name] = 1; order[n++] = name } }
  function cell(x) { return x == "" ? "–" : x }
  function ratio(a, b) { return (a == "" || b == "" || b == 0) ? "–" : sprintf("%.2f", a / b) }
  END { for (i = 0; i < n; i++) { k = order[i];
          printf "| %s | %s | %s | %s | %s | %s | %s |\n", k, unit[k], cell(v[k, "weft"]), cell(v[k, "tpl"]), cell(v[k, "go"]),
                 ratio(v[k, "weft"], v[k, "go"]), ratio(v[k, "weft"], v[k, "tpl"]) } }' "$out"
rm -f "$out"
