#!/usr/bin/env bash
# The deploy/ topology on one machine, without containers: REPLICAS `streamlit run app.py`
# processes on loopback ports behind Debian's nginx on 127.0.0.1:PORT.
#
#   deploy/run-local.sh 2 8080      # then open http://127.0.0.1:8080
#
# Everything runs from a fresh temporary directory (nginx prefix, config, logs, pid file), never
# the system nginx service. It waits until every replica and the proxy answer /_stcore/health,
# prints the URL, and stops everything it started on SIGTERM, SIGINT or exit.
# Environment: LOSSLAB_RUN_DIR (use this directory instead of a temporary one; kept afterwards),
# LOSSLAB_FIRST_PORT (first replica port; default PORT + 1), LOSSLAB_NGINX (the nginx binary;
# not NGINX, which nginx itself reads), PYTHON (the interpreter).
# The run directory holds replicas.txt: one "port pid" line each.
set -euo pipefail

usage() { echo "usage: $0 REPLICAS PORT" >&2; exit 2; }
[ $# -eq 2 ] || usage
replicas=$1
port=$2
[[ $replicas =~ ^[1-9][0-9]?$ ]] || { echo "REPLICAS must be 1-99" >&2; exit 2; }
[[ $port =~ ^[0-9]+$ ]] && [ "$port" -ge 1024 ] && [ "$port" -le 65000 ] \
  || { echo "PORT must be 1024-65000" >&2; exit 2; }

root=$(cd "$(dirname "$0")/.." && pwd)
nginx_bin=${LOSSLAB_NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
python_bin=${PYTHON:-python3}
[ -x "$nginx_bin" ] || { echo "nginx not found (Debian: apt-get install nginx)" >&2; exit 1; }
first=${LOSSLAB_FIRST_PORT:-$((port + 1))}

if [ -n "${LOSSLAB_RUN_DIR:-}" ]; then
  run=$LOSSLAB_RUN_DIR; keep_run=1; mkdir -p "$run"
else
  run=$(mktemp -d -t losslab-run.XXXXXX); keep_run=0
fi
mkdir -p "$run/logs" "$run/temp"
chmod 755 "$run" "$run/temp"

pids=()
nginx_started=0
stop() {
  trap - EXIT INT TERM
  if [ "$nginx_started" = 1 ]; then
    "$nginx_bin" -p "$run" -c "$run/nginx.conf" -s quit 2>/dev/null || true
  fi
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ "$nginx_started" = 1 ] && [ -f "$run/nginx.pid" ]; then
    npid=$(cat "$run/nginx.pid" 2>/dev/null || true)
    for _ in $(seq 50); do [ -n "$npid" ] && kill -0 "$npid" 2>/dev/null || break; sleep 0.1; done
    [ -n "$npid" ] && kill -TERM "$npid" 2>/dev/null || true
  fi
  [ "$keep_run" = 1 ] || rm -rf "$run"
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# All replicas sign cookies (the XSRF token of uploads) with one secret, so a learner who
# fails over to another replica can still upload.
secret=$("$python_bin" -c 'import secrets; print(secrets.token_hex(32))')

upstreams=""
: > "$run/replicas.txt"
for i in $(seq 0 $((replicas - 1))); do
  p=$((first + i))
  (cd "$root" && exec env PYTHONPATH="$root" STREAMLIT_SERVER_COOKIE_SECRET="$secret" \
      "$python_bin" -m streamlit run app.py \
      --server.headless true --server.address 127.0.0.1 --server.port "$p" \
      --server.fileWatcherType none \
      --browser.gatherUsageStats false) >"$run/logs/replica-$p.log" 2>&1 &
  pids+=($!)
  echo "$p $!" >> "$run/replicas.txt"
  upstreams+="server 127.0.0.1:$p max_fails=1 fail_timeout=5s; "
done

user_line=""
[ "$(id -u)" = 0 ] && user_line="user root;"  # workers must read the run directory
sed -e "s|\${LOSSLAB_LISTEN}|127.0.0.1:$port|" -e "s|\${LOSSLAB_UPSTREAMS}|$upstreams|" \
  "$root/deploy/losslab.conf.template" > "$run/losslab.conf"
cat > "$run/nginx.conf" <<CONF
$user_line
worker_processes 1;
daemon on;
pid $run/nginx.pid;
error_log $run/logs/error.log warn;
events { worker_connections 4096; }
http {
    access_log $run/logs/access.log combined;
    # Which replica served whom: affinity id, then the replica(s) tried (tests find a page's replica).
    log_format upstream '\$losslab_affinity \$upstream_addr \$status "\$request"';
    access_log $run/logs/upstream.log upstream;
    client_body_temp_path $run/temp/body;
    proxy_temp_path $run/temp/proxy;
    fastcgi_temp_path $run/temp/fastcgi;
    uwsgi_temp_path $run/temp/uwsgi;
    scgi_temp_path $run/temp/scgi;
    include $run/losslab.conf;
}
CONF

# healthy URL [PID]: wait for URL/_stcore/health, giving up early when process PID has exited.
# Run in the background and waited for, so that a signal stops the script at once.
healthy() { _healthy "$@" & wait $!; }
_healthy() { "$python_bin" - "$@" <<'PY'
import sys, time, urllib.request
def gone(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in "ZX"
    except OSError:
        return True
deadline = time.monotonic() + 120
while time.monotonic() < deadline:
    if len(sys.argv) > 2 and gone(sys.argv[2]):
        sys.exit(1)
    try:
        with urllib.request.urlopen(sys.argv[1] + "/_stcore/health", timeout=2) as r:
            if r.status == 200:
                sys.exit(0)
    except OSError:
        time.sleep(0.2)
sys.exit(1)
PY
}

for i in $(seq 0 $((replicas - 1))); do
  p=$((first + i))
  healthy "http://127.0.0.1:$p" "${pids[$i]}" || { echo "replica on port $p did not become healthy; log:" >&2;
    tail -20 "$run/logs/replica-$p.log" >&2; exit 1; }
done
"$nginx_bin" -p "$run" -c "$run/nginx.conf" -e "$run/logs/error.log" -t -q
# Daemonised; its output goes to the log, not to whoever reads this script's output.
"$nginx_bin" -p "$run" -c "$run/nginx.conf" -e "$run/logs/error.log" >>"$run/logs/nginx.out" 2>&1
nginx_started=1
healthy "http://127.0.0.1:$port" || { echo "nginx did not answer on $port" >&2; exit 1; }

echo "losslab: http://127.0.0.1:$port ($replicas replicas on ports $first-$((first + replicas - 1)); run directory $run)"
# Wait for a signal; a replica that dies is not restarted (that is what failover is for).
while true; do sleep 1 & wait $! || true; done
