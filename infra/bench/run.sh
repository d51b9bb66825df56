#!/usr/bin/env bash
# Throughput of `honeytoken serve` against the usual Python decoy, side by side
# in one run on the same machine. Needs wrk (Debian: apt-get install wrk).
#
#   infra/bench/run.sh [DURATION_SECONDS] [CONNECTIONS]
#
# Prints a Markdown table (requests/s, p50, p99 for hits and misses) and the ratios.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
DUR=${1:-10}
CONN=${2:-64}
# shellcheck source=lib.sh
source "$ROOT/infra/bench/lib.sh"
need_wrk
need_baseline

build_lean

HT=target/release/honeytoken
TOKEN=$($HT --data-dir "$WORK/ht" mint --kind key --prefix acme_live_ --label bench --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
MISS="acme_live_4eC39HqLyjWDarjtT1zdp7dcXyZ0ab"

start_serve() { # DIR PORT LOG ARGS...
  local dir=$1 port=$2 log=$3; shift 3
  $HT --data-dir "$dir" serve --addr 127.0.0.1:$port "$@" 2>"$log" &
  PIDS+=($!); wait_port $port; check_owner $port ${PIDS[-1]}
}
# Three data dirs with the same key and token, one per durability setting.
for d in full os osflood; do mkdir -p "$WORK/$d"; cp "$WORK/ht/signing.key" "$WORK/ht/honeytoken.db" "$WORK/$d/"; done
# --min-latency 0: measure the server itself, not the timing floor.
# --flood-whole 0: every hit stored whole, as the baseline writes a line per hit.
P1=$(free_port); start_serve "$WORK/full" $P1 "$WORK/serve-full.log" --min-latency 0ms --durability full --flood-whole 0
P4=$(free_port); start_serve "$WORK/os" $P4 "$WORK/serve-os.log" --min-latency 0ms --durability os --flood-whole 0
# The default flood rule (first 20 per token, source and 15 min whole, the rest counted).
P5=$(free_port); start_serve "$WORK/osflood" $P5 "$WORK/serve-osflood.log" --min-latency 0ms --durability os

echo "{\"$TOKEN\": {\"id\": \"bench\", \"label\": \"bench\"}}" > "$WORK/tokens.json"
P2=$(free_port)
(cd infra/bench/baseline && BASELINE_TOKENS="$WORK/tokens.json" BASELINE_HITS="$WORK/hits.log" \
  exec "$ROOT/$VENV/bin/gunicorn" -w 1 -k sync -b 127.0.0.1:$P2 --log-level warning app:app) &
PIDS+=($!); wait_port $P2; check_owner $P2 ${PIDS[-1]}

# wrk prints "Requests/sec: N" and, with --latency, "50% X" and "99% Y".
run() { wrk -t2 -c"$CONN" -d"${DUR}s" --latency -H "Authorization: Bearer $2" "http://127.0.0.1:$1/v1/users" > "$WORK/wrk.out"
        local rps p50 p99
        rps=$(awk '/Requests\/sec/ {print $2}' "$WORK/wrk.out")
        p50=$(awk '$1=="50%" {print $2}' "$WORK/wrk.out"); p99=$(awk '$1=="99%" {print $2}' "$WORK/wrk.out")
        echo "$rps $p50 $p99"; }

read -r H_RPS H_50 H_99 <<<"$(run $P1 "$TOKEN")"
read -r O_RPS O_50 O_99 <<<"$(run $P4 "$TOKEN")"
read -r F_RPS F_50 F_99 <<<"$(run $P5 "$TOKEN")"
read -r M_RPS M_50 M_99 <<<"$(run $P4 "$MISS")"
read -r BH_RPS BH_50 BH_99 <<<"$(run $P2 "$TOKEN")"
read -r BM_RPS BM_50 BM_99 <<<"$(run $P2 "$MISS")"
# Timing: the same server with its default response-time floor; a hit must not
# be told from a miss by latency.
P3=$(free_port); start_serve "$WORK/ht" $P3 "$WORK/serve-floor.log" --min-latency 20ms
CONN_SAVE=$CONN; CONN=16
read -r FH_RPS FH_50 FH_99 <<<"$(run $P3 "$TOKEN")"
read -r FM_RPS FM_50 FM_99 <<<"$(run $P3 "$MISS")"
CONN=$CONN_SAVE

# Requests each store stands for: whole hits count 1, a flood counter its count.
stored() { $HT --data-dir "$1" hits --format json --limit 100000000 | python3 -c 'import json,sys; h=json.load(sys.stdin); print(len(h), sum(x.get("count",1) for x in h))'; }
read -r S_FULL _ <<<"$(stored "$WORK/full")"
read -r S_OS _ <<<"$(stored "$WORK/os")"
read -r S_FREC S_FREQ <<<"$(stored "$WORK/osflood")"
BLINES=$(wc -l < "$WORK/hits.log")

echo "machine: $(nproc) cores, $(awk -F: '/model name/ {print $2; exit}' /proc/cpuinfo | xargs); wrk -t2 -c$CONN -d${DUR}s"
echo
echo "| server | durability | kind | requests/s | p50 | p99 | hits kept |"
echo "|---|---|---|---:|---:|---:|---:|"
echo "| honeytoken serve | full (fsync) | hit | $H_RPS | $H_50 | $H_99 | $S_FULL records (every hit whole) |"
echo "| honeytoken serve | os (no fsync) | hit | $O_RPS | $O_50 | $O_99 | $S_OS records (every hit whole) |"
echo "| honeytoken serve, default flood rule | os (no fsync) | hit | $F_RPS | $F_50 | $F_99 | $S_FREQ requests in $S_FREC records |"
echo "| honeytoken serve | os | miss | $M_RPS | $M_50 | $M_99 | |"
echo "| Flask + gunicorn (1 sync worker) | flushed, no fsync | hit | $BH_RPS | $BH_50 | $BH_99 | $BLINES lines |"
echo "| Flask + gunicorn (1 sync worker) | | miss | $BM_RPS | $BM_50 | $BM_99 | |"
echo
echo "timing with the default floor (serve --min-latency 20ms, wrk -c16): hit p50 $FH_50 p99 $FH_99 | miss p50 $FM_50 p99 $FM_99"
python3 -c "print(f'ratio hits/s at equal durability (os vs baseline): {$O_RPS/$BH_RPS:.1f}x  (default flood rule: {$F_RPS/$BH_RPS:.1f}x)   full vs baseline: {$H_RPS/$BH_RPS:.1f}x   misses/s: {$M_RPS/$BM_RPS:.1f}x')"
