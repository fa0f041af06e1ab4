#!/usr/bin/env bash
# make bench: every benchmark that feeds BENCHMARKS.md, then the report from
# what they wrote to benchmarks/results/. A benchmark that fails (e.g. a peer
# not programmed in time) does not stop the others or the report; the exit
# status says whether all succeeded. Each benchmark's time is printed.
#
# BENCH_SCALE=default or full (the issues' scales: control plane at 1k, 5k,
# 10k services, datapath at 100 and 10k, new flows sustained for 10 minutes,
# standalone growth to 100k services, 10 minutes of steady state at 10k).
set -uo pipefail
cd "$(dirname "$0")/.."

case "${BENCH_SCALE:-default}" in
  default) peers_scales=1000; datapath_scales=100; flow_seconds=60; growth_scales=1000; steady=(--services 1000 --minutes 1) ;;
  full) peers_scales=1000,5000,10000; datapath_scales=100,10000; flow_seconds=600; growth_scales=1000,10000,100000; steady=() ;;
  *) echo "BENCH_SCALE must be default or full, got '${BENCH_SCALE}'" >&2; exit 2 ;;
esac

# Results of an earlier run would be reported as this run's.
rm -f benchmarks/results/*.json benchmarks/results/*.log

failed=()
run() {
  local name=$1 start=$SECONDS
  shift
  echo "== $name: $*"
  if "$@"; then
    echo "== $name: done in $((SECONDS - start)) s"
  else
    echo "== $name: FAILED after $((SECONDS - start)) s"
    failed+=("$name")
  fi
}

run socklb node dist/tests/bench/socklb.js
run maglev node dist/tests/bench/maglev.js
run xdp-cost node dist/tests/bench/xdp_cost.js
run growth node dist/tests/bench/growth.js --services "$growth_scales"
run datapath node dist/tests/bench/datapath.js --services "$datapath_scales"
run edge-pps node dist/tests/bench/edge_pps.js
run control-plane-peers node dist/tests/bench/peers.js --scales "$peers_scales"
run flow-rate node dist/tests/bench/flow_rate.js --seconds "$flow_seconds"
run steady node dist/tests/bench/steady.js "${steady[@]}"
run report node dist/tests/bench/report.js

if [ ${#failed[@]} -gt 0 ]; then
  echo "failed: ${failed[*]} (BENCHMARKS.md reports what they measured and their errors)" >&2
  exit 1
fi
