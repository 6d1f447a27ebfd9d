#!/usr/bin/env bash
# Same-run A/B of two builds of the workload suite: alternates the builds for ROUNDS rounds (default 5) so that
# machine noise hits both alike, then prints, per workload, each build's median and the ratio B ÷ A.
# Usage: [ROUNDS=5] bench/ab.sh A_DIR B_DIR [WORKLOAD...]
#   A_DIR, B_DIR: repository checkouts (e.g. a `git worktree add --detach /tmp/base <commit>` and this one);
#   each is built in Release first. Prints every raw line too, prefixed with the build's label.
set -euo pipefail
[ $# -ge 2 ] || { sed -n 2,7p "$0"; exit 2; }
a=$(cd "$1" && pwd); b=$(cd "$2" && pwd); shift 2
rounds=${ROUNDS:-5}
for d in "$a" "$b"; do dotnet build -c Release "$d/bench/Weft.Bench" >/dev/null; done
out=$(mktemp)
for r in $(seq 1 "$rounds"); do
  for side in A B; do
    d=$a; [ $side = B ] && d=$b
    dotnet "$d/bench/Weft.Bench/bin/Release/net10.0/Weft.Bench.dll" "$@" | sed "s/^/$side /" | tee -a "$out"
  done
done
echo
echo "| workload | unit | A (median) | B (median) | B ÷ A |"
echo "|---|---|---:|---:|---:|"
sort -k2,2 -k3,3g "$out" | awk '
  { key = $1 SUBSEP $2; vals[key, ++cnt[key]] = $3; unit[$2] = $4; if (!($2 in seen)) { seen[$2] = 1; order[++n] = $2 } }
  function med(key,   c) { c = cnt[key]; return c == 0 ? "" : vals[key, int((c + 1) / 2)] }
  END { for (i = 1; i <= n; i++) { w = order[i]; x = med("A" SUBSEP w); y = med("B" SUBSEP w);
          printf "| %s | %s | %s | %s | %s |\n", w, unit[w], x, y, (x == "" || y == "" || x == 0) ? "–" : sprintf("%.2f", y / x) } }'
rm -f "$out"
