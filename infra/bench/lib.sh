# Shared by the bench scripts (sourced from the repository root): a work
# directory removed on exit, servers tracked by pid and stopped on exit, free
# loopback ports, the check that a port is served by the process we started,
# and the two things every harness needs first.

WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 did not open" >&2; exit 1; }
# The process listening on the port must be the one we started.
check_owner() {
  local port=$1 pid=$2
  ss -ltnpH "sport = :$port" | grep -q "pid=$pid," || { echo "port $port is not served by pid $pid" >&2; exit 1; }
}

# Debian's package, installed when missing (root only; otherwise say what to run).
need_deb() {
  local cmd=$1 pkg=$2
  command -v "$cmd" >/dev/null && return 0
  [ "$(id -u)" = 0 ] || { echo "$cmd is needed: apt-get install $pkg" >&2; exit 1; }
  echo "installing Debian's $pkg" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null
}
need_wrk() { need_deb wrk wrk; }
need_nginx() { PATH="$PATH:/usr/sbin" need_deb nginx nginx; NGINX=$(PATH="$PATH:/usr/sbin" command -v nginx); }

# The baseline's Python (Flask, gunicorn) in infra/bench/.venv.
VENV=infra/bench/.venv
need_baseline() {
  if [ ! -x "$VENV/bin/gunicorn" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q -r infra/bench/requirements.txt
  fi
}

# The lean release build (no AWS SDK): what a single-host user runs.
build_lean() { cargo build --release --bin honeytoken --no-default-features --features cli -q; }
