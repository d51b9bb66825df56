#!/usr/bin/env bash
# Fuzz every target for a bounded time (default 60 s each). Not part of CI.
#   fuzz/run.sh [SECONDS_PER_TARGET]
# Needs `cargo install cargo-fuzz`. `-s none`: the stable toolchain has no
# sanitizers; libFuzzer still finds panics, overflows (debug assertions are on)
# and hangs. Crashes land in fuzz/artifacts/TARGET/; copy them to
# fuzz/regressions/TARGET/ so `cargo test --test fuzz_regressions` replays them.
set -euo pipefail
cd "$(dirname "$0")"
SECS=${1:-60}
for t in extract recognise handler; do
  mkdir -p "corpus/$t"
  cargo fuzz run -s none --debug-assertions "$t" "corpus/$t" "seeds/$t" -- \
    -max_total_time="$SECS" -max_len=131072 -timeout=5 -rss_limit_mb=1024 2>&1 | tail -n 3
done
