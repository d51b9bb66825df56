# moto server for the test command (sourced by scripts/test.sh, which sets
# VENV, LOG_DIR and the say/die helpers): DynamoDB, Streams, SNS, SQS,
# Secrets Manager and Security Hub on a free loopback port, checked to be the
# process we started (its listening socket among our pid's fds), and stopped
# by that pid when the tests end (SIGKILL after five seconds).
#
#   need_moto    start once; exports HONEYTOKEN_TEST_AWS_ENDPOINT
#   stop_moto    stop it (also run on exit)

MOTO_PID=""
MOTO_PORT=""

stop_moto() {
    if [[ -n "$MOTO_PID" ]] && kill -0 "$MOTO_PID" 2>/dev/null; then
        kill "$MOTO_PID" 2>/dev/null || true
        # moto does not always exit on SIGTERM; give it five seconds.
        local i
        for i in $(seq 1 50); do
            kill -0 "$MOTO_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$MOTO_PID" 2>/dev/null || true
        wait "$MOTO_PID" 2>/dev/null || true
    fi
    MOTO_PID=""
}
trap stop_moto EXIT

# Prints a free loopback TCP port.
free_port() {
    "$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Succeeds when the process PID owns the socket listening on 127.0.0.1:PORT
# (matched through /proc: the listening socket's inode among PID's fds).
pid_listens_on() {
    "$VENV/bin/python" - "$1" "$2" <<'PY'
import os, sys
pid, port = sys.argv[1], int(sys.argv[2])
inodes = set()
with open("/proc/net/tcp") as f:
    next(f)
    for line in f:
        parts = line.split()
        local, state, inode = parts[1], parts[3], parts[9]
        ip_hex, port_hex = local.split(":")
        if state == "0A" and int(port_hex, 16) == port and ip_hex == "0100007F":
            inodes.add(inode)
if not inodes:
    sys.exit(1)
fds = f"/proc/{pid}/fd"
for fd in os.listdir(fds):
    try:
        target = os.readlink(os.path.join(fds, fd))
    except OSError:
        continue
    if target.startswith("socket:[") and target[8:-1] in inodes:
        sys.exit(0)
sys.exit(1)
PY
}

# Starts moto on a free loopback port (once) and exports its endpoint.
need_moto() {
    [[ -n "$MOTO_PID" ]] && return 0
    mkdir -p "$LOG_DIR"
    local attempt
    for attempt in 1 2 3; do
        MOTO_PORT="$(free_port)"
        "$VENV/bin/moto_server" -H 127.0.0.1 -p "$MOTO_PORT" >"$LOG_DIR/moto.log" 2>&1 &
        MOTO_PID=$!
        local i
        for i in $(seq 1 100); do
            if ! kill -0 "$MOTO_PID" 2>/dev/null; then
                break # exited: most likely lost the port to another process
            fi
            if pid_listens_on "$MOTO_PID" "$MOTO_PORT" \
                && curl -fsS "http://127.0.0.1:$MOTO_PORT/moto-api/data.json" >/dev/null 2>&1; then
                say "moto server pid $MOTO_PID on 127.0.0.1:$MOTO_PORT"
                export HONEYTOKEN_TEST_AWS_ENDPOINT="http://127.0.0.1:$MOTO_PORT"
                return 0
            fi
            sleep 0.1
        done
        stop_moto
        say "moto did not come up on port $MOTO_PORT (attempt $attempt); see $LOG_DIR/moto.log"
    done
    die "could not start the moto server; see $LOG_DIR/moto.log"
}

