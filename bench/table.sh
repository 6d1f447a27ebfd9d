#!/usr/bin/env bash
# Runs the whole suite (Weft and its .NET baseline) and, if Go 1.19 is installed, the Go versions, alternating for
# ROUNDS rounds (default 3) so that machine noise hits all three alike; prints every line, then the README's table
# of the medians over the rounds. Usage: [ROUNDS=3] bench/table.sh [WORKLOAD...]   (about 4 minutes a round)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${ROUNDS:-3}
out=$(mktemp)
dotnet build -c Release bench/Weft.Bench >/dev/null
have_go=0; if command -v go >/dev/null || [ -x /usr/lib/go-1.19/bin/go ]; then have_go=1; fi
for r in $(seq 1 "$rounds"); do
  echo "# round $r" >&2
  dotnet bench/Weft.Bench/bin/Release/net10.0/Weft.Bench.dll --baseline "$@" | tee -a "$out"
  if [ $have_go -eq 1 ]; then bench/go/run.sh "$@" | tee -a "$out"; fi
done
echo
echo "| workload | unit | Weft | .NET baseline | Go 1.19 | Weft ÷ Go | Weft ÷ .NET |"
echo "|---|---|---:|---:|---:|---:|---:|"
sort -k1,1 -k2,2g "$out" | awk '
  { split($1, p, "."); name = p[1]; kind = (p[2] == "" ? "weft" : p[2]); key = name SUBSEP kind;
    vals[key, ++cnt[key]] = $2; unit[name] = $3;
    if (!(name in seen)) { seen[name] = 1 } }
  function med(key,   c) { c = cnt[key]; return c == 0 ? "" : vals[key, int((c + 1) / 2)] }
  function cell(x) { return x == "" ? "–" : x }
  function ratio(a, b) { return (a == "" || b == "" || b == 0) ? "–" : sprintf("%.2f", a / b) }
  END { split("spawn sleepers parked pingpong spsc mpmc select pairs mutex pool-latency pool-throughput", order, " ");
        for (i = 1; i in order; i++) { k = order[i]; if (!(k in seen)) continue;
          w = med(k SUBSEP "weft"); t = med(k SUBSEP "tpl"); g = med(k SUBSEP "go");
          printf "| %s | %s | %s | %s | %s | %s | %s |\n", k, unit[k], cell(w), cell(t), cell(g), ratio(w, g), ratio(w, t) } }'
rm -f "$out"
