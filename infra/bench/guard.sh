#!/usr/bin/env bash
# `honeytoken guard` beside nginx, the reference reverse proxy, in front of
# the same upstreams, in one run on this machine. wrk and nginx come from
# Debian's packages and are installed when missing.
#
#   infra/bench/guard.sh [ROUNDS] [DURATION_SECONDS]
#
# Three paths, interleaved in every round (direct, guard, nginx) so a drift
# of the machine's speed hits all three alike; the figures are medians over
# the rounds (default 5 rounds of 8 s per run).
#
# 1. Throughput share: the Flask app of infra/bench/baseline under gunicorn
#    (2 sync workers), wrk -t1 -c16, requests carrying an ordinary client's
#    key (the production case; body inspection is always on). Share = proxied
#    requests/s over direct requests/s of the same round.
# 2. CPU per request and added p99: a trivial upstream (`honeytoken serve`,
#    a fixed answer) paced at about 2,000 requests/s (wrk -t1 -c8, a 4 ms
#    Lua delay per request per connection), so nothing queues. CPU is the
#    proxy's utime+stime from /proc (nginx: master and workers) over the
#    requests wrk completed; added p99 is the proxied p99 minus the direct
#    p99 of the same round.
#
# nginx: 2 worker processes (the guard runs its default, one event loop;
# HONEYTOKEN_GUARD_WORKERS=N runs N), keep-alive connections to each upstream (`keepalive 32`,
# HTTP/1.1, `Connection ""`), access log off: a tuned production proxy.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
ROUNDS=${1:-5}
DUR=${2:-8}
# shellcheck source=lib.sh
source "$ROOT/infra/bench/lib.sh"
need_wrk
need_nginx
need_baseline
build_lean

HT=target/release/honeytoken
$HT --data-dir "$WORK/ht" mint --kind key --prefix acme_live_ --label bench --format json >/dev/null
AUTH="Bearer sk_live_51HqLyjWDarjtT1zdp7dcXGgeOo0jPpKx3c"
echo '{}' > "$WORK/tokens.json"

P_APP=$(free_port)
(cd infra/bench/baseline && BASELINE_TOKENS="$WORK/tokens.json" BASELINE_HITS="$WORK/hits.log" \
  exec "$ROOT/$VENV/bin/gunicorn" -w 2 -k sync -b 127.0.0.1:$P_APP --log-level warning app:app) &
PIDS+=($!); wait_port $P_APP; check_owner $P_APP ${PIDS[-1]}

P_TRIV=$(free_port)
$HT --data-dir "$WORK/up" serve --addr 127.0.0.1:$P_TRIV --min-latency 0ms 2>"$WORK/up.log" &
PIDS+=($!); wait_port $P_TRIV; check_owner $P_TRIV ${PIDS[-1]}

P_GA=$(free_port)
$HT --data-dir "$WORK/ht" guard --listen 127.0.0.1:$P_GA --upstream http://127.0.0.1:$P_APP --service app 2>"$WORK/ga.log" &
PIDS+=($!); wait_port $P_GA; check_owner $P_GA ${PIDS[-1]}
P_GT=$(free_port)
$HT --data-dir "$WORK/ht" guard --listen 127.0.0.1:$P_GT --upstream http://127.0.0.1:$P_TRIV --service trivial 2>"$WORK/gt.log" &
PIDS+=($!); GT=${PIDS[-1]}; wait_port $P_GT; check_owner $P_GT $GT

P_NA=$(free_port); P_NT=$(free_port)
mkdir -p "$WORK/nginx"
cat > "$WORK/nginx/nginx.conf" <<CONF
worker_processes 2;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx/body;
  proxy_temp_path $WORK/nginx/proxy;
  fastcgi_temp_path $WORK/nginx/fastcgi;
  uwsgi_temp_path $WORK/nginx/uwsgi;
  scgi_temp_path $WORK/nginx/scgi;
  upstream app { server 127.0.0.1:$P_APP; keepalive 32; }
  upstream trivial { server 127.0.0.1:$P_TRIV; keepalive 32; }
  server { listen 127.0.0.1:$P_NA; location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; } }
  server { listen 127.0.0.1:$P_NT; location / { proxy_pass http://trivial; proxy_http_version 1.1; proxy_set_header Connection ""; } }
}
CONF
"$NGINX" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -g 'daemon off;' &
PIDS+=($!); NG=${PIDS[-1]}; wait_port $P_NA; wait_port $P_NT; check_owner $P_NT $NG

TICK=$(getconf CLK_TCK)
# utime+stime of a process and its children (nginx's workers).
cpu_ticks() {
  local total=0 p
  for p in $1 $(pgrep -P "$1" || true); do
    total=$((total + $(awk '{print $14 + $15}' "/proc/$p/stat")))
  done
  echo $total
}
echo "function delay() return 4 end" > "$WORK/pace.lua"

# wrk's "Requests/sec", request count and p99, the latter in microseconds.
wrk_run() {
  local port=$1 conn=$2; shift 2
  wrk -t1 -c"$conn" -d"${DUR}s" --latency -H "Authorization: $AUTH" "$@" "http://127.0.0.1:$port/v1/users" > "$WORK/wrk.out"
  python3 - "$WORK/wrk.out" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
rps = re.search(r"Requests/sec:\s+([\d.]+)", t).group(1)
n = re.search(r"(\d+) requests in", t).group(1)
v, u = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", t, re.M).groups()
print(rps, n, round(float(v) * {"us": 1, "ms": 1e3, "s": 1e6}[u]))
PY
}

ROWS="$WORK/rows"
: > "$ROWS"
for r in $(seq "$ROUNDS"); do
  read -r D_RPS _ _ <<<"$(wrk_run $P_APP 16)"
  read -r G_RPS _ _ <<<"$(wrk_run $P_GA 16)"
  read -r N_RPS _ _ <<<"$(wrk_run $P_NA 16)"
  read -r _ _ DT_99 <<<"$(wrk_run $P_TRIV 8 -s "$WORK/pace.lua")"
  c0=$(cpu_ticks $GT); read -r _ GT_N GT_99 <<<"$(wrk_run $P_GT 8 -s "$WORK/pace.lua")"; c1=$(cpu_ticks $GT)
  n0=$(cpu_ticks $NG); read -r _ NT_N NT_99 <<<"$(wrk_run $P_NT 8 -s "$WORK/pace.lua")"; n1=$(cpu_ticks $NG)
  echo "$r $D_RPS $G_RPS $N_RPS $DT_99 $GT_99 $NT_99 $((c1 - c0)) $GT_N $((n1 - n0)) $NT_N" >> "$ROWS"
  echo "round $r/$ROUNDS done" >&2
done

echo "machine: $(nproc) cores, $(awk -F: '/model name/ {print $2; exit}' /proc/cpuinfo | xargs); $("$NGINX" -v 2>&1); $(wrk --version 2>&1 | head -1 | cut -d' ' -f1-2)"
echo
python3 - "$ROWS" "$TICK" "$DUR" <<'PY'
import statistics as st, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
tick, dur = int(sys.argv[2]), sys.argv[3]
print(f"{len(rows)} interleaved rounds, {dur} s per run.")
print()
print("| round | direct req/s | guard req/s | nginx req/s | guard share | nginx share | guard CPU/req | nginx CPU/req | guard added p99 | nginx added p99 |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
gs, ns, gc, nc, gp, np_ = [], [], [], [], [], []
for r in rows:
    i, d, g, n = r[0], float(r[1]), float(r[2]), float(r[3])
    dt, gt, nt = int(r[4]), int(r[5]), int(r[6])
    gcpu = int(r[7]) / tick / int(r[8]) * 1e6
    ncpu = int(r[9]) / tick / int(r[10]) * 1e6
    gs.append(g / d); ns.append(n / d); gc.append(gcpu); nc.append(ncpu)
    gp.append(gt - dt); np_.append(nt - dt)
    print(f"| {i} | {d:,.0f} | {g:,.0f} | {n:,.0f} | {g/d:.1%} | {n/d:.1%} | {gcpu:.1f} µs | {ncpu:.1f} µs | {gt-dt} µs | {nt-dt} µs |")
m = st.median
print(f"| **median** | | | | **{m(gs):.1%}** | **{m(ns):.1%}** | **{m(gc):.1f} µs** | **{m(nc):.1f} µs** | **{m(gp):.0f} µs** | **{m(np_):.0f} µs** |")
print()
checks = [
    ("throughput share at least 95 % of nginx's", m(gs) >= 0.95 * m(ns), f"{m(gs)/m(ns):.1%} of nginx's"),
    ("CPU per request no more than nginx's", m(gc) <= m(nc), f"{m(gc):.1f} vs {m(nc):.1f} µs"),
    ("added p99 no more than nginx's", m(gp) <= m(np_), f"{m(gp):.0f} vs {m(np_):.0f} µs"),
]
for what, ok, fig in checks:
    print(f"- {'met' if ok else 'NOT met'}: {what} ({fig})")
PY
