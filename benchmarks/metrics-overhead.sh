#!/usr/bin/env bash
# Metrics off against metrics on, same load generator, same run: builds Release, then for each repeat
# starts the server without metrics-port and with it (a scraper reading GET /metrics every --scrape
# seconds meanwhile; 15 by default, the interval most Prometheus set-ups use), alternating, runs the
# fanout scenario against each (off first in odd repeats, on first in even ones), and prints the
# medians and the ratio on/off (docs/metrics.md, Measurement).
# --baseline-server DLL runs another build (e.g. one of the previous release) on the "off" side, and
# --candidate-off leaves metrics-port off on the candidate side too: together they check that the
# instruments cost nothing while nothing listens.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  cat <<'EOF'
usage: benchmarks/metrics-overhead.sh [--repeat N] [--duration SECONDS] [--no-build] [--scrape SECONDS]
                                      [--baseline-server DLL] [--candidate-off] [-- LOADGEN OPTIONS...]

  --repeat           runs per side, alternating (default 3)
  --duration         seconds per run (default 5)
  --no-build         use the Release builds already there
  --scrape           seconds between two reads of /metrics on the candidate (default 15; 0: never)
  --baseline-server  the server build (a .dll) to run on the baseline side (default: this one)
  --candidate-off    no metrics-port on the candidate side either
  after --           passed to every notistream-loadgen run (e.g. -- --subscribers 50)
EOF
}

repeat=3 duration=5 build=1 extra=() scrape=15 baseline_dll="" candidate_metrics=1
while [ $# -gt 0 ]; do
  case "$1" in
    --repeat) repeat=${2:?}; shift 2 ;;
    --duration) duration=${2:?}; shift 2 ;;
    --no-build) build=0; shift ;;
    --scrape) scrape=${2:?}; shift 2 ;;
    --baseline-server) baseline_dll=${2:?}; shift 2 ;;
    --candidate-off) candidate_metrics=0; shift ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
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
  return 0 # else, with nothing left to stop, set -e ended the EXIT trap here: exit status 1, the folder left behind
}
trap 'stop_all; rm -rf "$work"' EXIT

# free_port
source benchmarks/processes.sh

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
    port=$(free_port) args=() dll=$server_dll
    if [ "$mode" = on ] && [ "$candidate_metrics" = 1 ]; then metrics_port=$(free_port); args=(--metrics-port "$metrics_port"); fi
    if [ "$mode" = off ] && [ -n "$baseline_dll" ]; then dll=$baseline_dll; fi
    dotnet "$dll" --port "$port" --maxclients 20000 --loglevel warning "${args[@]}" >"$work/$mode-$rep.log" 2>&1 &
    pid=$!
    wait_ready "$port"
    dotnet "$loadgen_dll" --port "$port" --scenario fanout --smoke "${extra[@]}" >/dev/null 2>&1 || say "warning: warm-up failed"
    if [ "$mode" = on ] && [ "$candidate_metrics" = 1 ] && [ "$scrape" != 0 ]; then
      ( while :; do curl -sf "http://127.0.0.1:$metrics_port/metrics" -o /dev/null && echo >>"$work/scrapes"; sleep "$scrape"; done ) &
      scraper=$!
    fi
    say "fanout, run $rep of $repeat: metrics $mode"
    json="$work/$mode-$rep.json"
    dotnet "$loadgen_dll" --port "$port" --scenario fanout --duration "$duration" --server-pid "$pid" --json "$json" "${extra[@]}" >&2
    if [ "$mode" = on ]; then
      [ "$candidate_metrics" = 1 ] && curl -sf "http://127.0.0.1:$metrics_port/metrics" | grep -E '^notistream_(messages_delivered_total|delivery_duration_seconds_count) ' >&2 || true
      on+=("$json")
    else
      off+=("$json")
    fi
    stop_all
  done
done

[ -f "$work/scrapes" ] && scrapes=$(wc -l <"$work/scrapes")
baseline="this build without metrics-port" candidate="this build with metrics-port, scraped every $scrape s ($scrapes scrapes in all)"
[ "$scrape" = 0 ] && candidate="this build with metrics-port, never scraped"
[ -n "$baseline_dll" ] && baseline="$baseline_dll without metrics-port"
[ "$candidate_metrics" = 0 ] && candidate="this build without metrics-port"
echo "- baseline: $baseline; candidate: $candidate; $repeat runs each, alternating, $duration s per case; medians; ratio = candidate / baseline"
echo
dotnet "$loadgen_dll" --compare --baseline "${off[@]}" --candidate "${on[@]}"
