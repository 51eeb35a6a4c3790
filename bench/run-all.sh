#!/usr/bin/env bash
# Runs every benchmark in turn, then draws docs/performance.png (with matplotlib, when it
# is installed); pass --quick for the short versions (each under a minute once the
# repositories are generated and cached under $BENCH_DIR).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
for bench in first_push mirror_push typical_push slow_endpoints many_refs status_all chart; do
  echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
  python3 "$here/$bench.py" "$@"
  echo
done
