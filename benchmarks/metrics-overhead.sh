#!/usr/bin/env bash
# Metrics off against metrics on, same load generator, same run: builds Release, then for each repeat
# starts the server without metrics-port and with it (a scraper reading GET /metrics every second
# meanwhile, far more often than Prometheus's usual 15 s), alternating, runs the fanout scenario
# against each (off first in odd repeats, on first in even ones), and prints the medians and the ratio on/off (docs/metrics.md, Measurement).
set -euo pipefail
cd "$(dirname "$0")/.."

repeat=3 duration=5 build=1 extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --repeat) repeat=${2:?}; shift 2 ;;
    --duration) duration=${2:?}; shift 2 ;;
    --no-build) build=0; shift ;;
    --) shift; extra=("$@"); break ;;
    *) echo "usage: benchmarks/metrics-overhead.sh [--repeat N] [--duration SECONDS] [--no-build] [-- LOADGEN OPTIONS...]" >&2; exit 2 ;;
  esac
done

say() { echo "metrics-overhead.sh: $*" >&2; }
server_dll=src/RespServer/bin/Release/net10.0/notistream-server.dll
loadgen_dll=benchmarks/Notistream.LoadGen/bin/Release/net10.0/notistream-loadgen.dll
if [ "$build" = 1 ]; then
  say "building Release"
  dotnet build src/RespServer -c Release -nologo -v q >&2
  dotnet build benchmarks/Notistream.LoadGen -c Release -nologo -v q >&2
fi

work=$(mktemp -d)
pid="" scraper=""
stop_all() {
  [ -n "$scraper" ] && { kill "$scraper" 2>/dev/null || true; wait "$scraper" 2>/dev/null || true; scraper=""; }
  [ -n "$pid" ] && { kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=""; }
}
trap 'stop_all; rm -rf "$work"' EXIT

free_port() {
  local port
  while :; do
    port=$((10000 + RANDOM % 20000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return; fi
  done
}

wait_ready() { # port
  local line
  for _ in $(seq 300); do
    if { exec 3<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null; then
      printf 'PING\r\n' >&3; line=""; read -r -t 5 line <&3 || true; exec 3<&-
      [[ $line == +PONG* ]] && return 0
    fi
    sleep 0.1
  done
  say "the server did not answer on port $1"; exit 2
}

off=() on=() scrapes=0
for rep in $(seq "$repeat"); do
  order="off on"; [ $((rep % 2)) = 0 ] && order="on off" # neither always goes first
  for mode in $order; do
    port=$(free_port) args=()
    if [ "$mode" = on ]; then metrics_port=$(free_port); args=(--metrics-port "$metrics_port"); fi
    dotnet "$server_dll" --port "$port" --maxclients 20000 --loglevel warning "${args[@]}" >"$work/$mode-$rep.log" 2>&1 &
    pid=$!
    wait_ready "$port"
    dotnet "$loadgen_dll" --port "$port" --scenario fanout --smoke "${extra[@]}" >/dev/null 2>&1 || say "warning: warm-up failed"
    if [ "$mode" = on ]; then
      ( while :; do curl -sf "http://127.0.0.1:$metrics_port/metrics" -o /dev/null && echo >>"$work/scrapes"; sleep 1; done ) &
      scraper=$!
    fi
    say "fanout, run $rep of $repeat: metrics $mode"
    json="$work/$mode-$rep.json"
    dotnet "$loadgen_dll" --port "$port" --scenario fanout --duration "$duration" --server-pid "$pid" --json "$json" "${extra[@]}" >&2
    if [ "$mode" = on ]; then
      curl -sf "http://127.0.0.1:$metrics_port/metrics" | grep -E '^notistream_(messages_delivered_total|delivery_duration_seconds_count) ' >&2 || true
      on+=("$json")
    else
      off+=("$json")
    fi
    stop_all
  done
done

[ -f "$work/scrapes" ] && scrapes=$(wc -l <"$work/scrapes")
echo "- metrics off = baseline, metrics on (with $scrapes scrapes in all, one a second) = candidate; $repeat runs each, alternating, $duration s per case; medians; ratio = on / off"
echo
dotnet "$loadgen_dll" --compare --baseline "${off[@]}" --candidate "${on[@]}"
