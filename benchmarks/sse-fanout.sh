#!/usr/bin/env bash
# HTTP subscribers against RESP subscribers, same run: builds Release, starts notistream-server and
# notistream-gateway on free loopback ports (the gateway's subscriber limit raised for the run), runs
# notistream-loadgen --scenario sse against them, and prints the medians of the runs as a markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  cat <<'EOF_USAGE'
usage: benchmarks/sse-fanout.sh [--subscribers N] [--rate MSG/S[,max]] [--duration SECONDS] [--repeat N]
                                [--out FILE] [--smoke] [--no-build] [-- LOADGEN OPTIONS...]

  --subscribers  subscribers of the one channel, over SSE and then over RESP (default 1000)
  --rate         publish rates, msg/s; max: as fast as the subscribers take them (default 100,max)
  --duration     seconds per case (default 3; 1 with --smoke)
  --repeat       runs, each on freshly started processes; the table shows medians (default 3)
  --out          write the markdown report to FILE instead of stdout
  --smoke        20 subscribers, 1 s a case: checks the script, measures nothing
  --no-build     use the Release builds already there
  after --       passed to every notistream-loadgen run (e.g. -- --payload 200)

Each run: the memory per idle SSE subscriber (gateway and server VmRSS with none and with N), then
per rate N SSE subscribers (GET /<channel>/sse), then N RESP subscribers (SUBSCRIBE), PUBLISH over
RESP: deliveries/s, p50/p99/max PUBLISH-to-event, CPU per 1M deliveries and the SSE/RESP ratios.
Every process is stopped on exit or Ctrl-C. Progress goes to stderr.
Exit status 1 when a run lost messages (its figures are marked INVALID) or failed.
EOF_USAGE
}

invocation="benchmarks/sse-fanout.sh"
for a in "$@"; do
  if [[ $a =~ ^[A-Za-z0-9_./,:=+-]+$ ]]; then invocation+=" $a"; else invocation+=" $(printf '%q' "$a")"; fi
done

subscribers="" rate="" duration="" repeat=3 out="" smoke=0 build=1 extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --subscribers) subscribers=${2:?--subscribers needs a number}; shift 2 ;;
    --rate) rate=${2:?--rate needs rates}; shift 2 ;;
    --duration) duration=${2:?--duration needs seconds}; shift 2 ;;
    --repeat) repeat=${2:?--repeat needs a number}; shift 2 ;;
    --out) out=${2:?--out needs a file}; shift 2 ;;
    --smoke) smoke=1; shift ;;
    --no-build) build=0; shift ;;
    -h|--help) usage; exit 0 ;;
    --) shift; extra=("$@"); break ;;
    *) echo "sse-fanout.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
if [ "$smoke" = 1 ]; then
  : "${subscribers:=20}" "${duration:=1}" "${rate:=500,max}"
else
  : "${subscribers:=1000}" "${duration:=3}" "${rate:=100,max}"
fi
[[ $subscribers =~ ^[1-9][0-9]*$ ]] || { echo "sse-fanout.sh: --subscribers must be a number >= 1" >&2; exit 2; }
[[ $repeat =~ ^[1-9][0-9]*$ ]] || { echo "sse-fanout.sh: --repeat must be a number >= 1" >&2; exit 2; }
[[ $duration =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "sse-fanout.sh: --duration must be a number of seconds" >&2; exit 2; }

say() { echo "sse-fanout.sh: $*" >&2; }
die() { say "$*"; exit 2; }

# Each SSE subscriber is a socket in the load generator and two in the gateway (the client's and its
# connection to the server); the RESP case adds N more in the generator and the server.
hard=$(ulimit -Hn)
want=$((subscribers * 3 + 1000))
if [ "$hard" = unlimited ] || [ "$hard" -ge "$want" ]; then ulimit -n "$want"; else ulimit -n "$hard"; fi
if [ "$(ulimit -n)" -lt "$want" ]; then
  say "warning: the open-file limit is $(ulimit -n); $subscribers subscribers need about $want (raise the hard limit)"
fi

server_dll=src/RespServer/bin/Release/net10.0/notistream-server.dll
gateway_dll=src/WebhookGateway/bin/Release/net10.0/notistream-gateway.dll
loadgen_dll=benchmarks/Notistream.LoadGen/bin/Release/net10.0/notistream-loadgen.dll
if [ "$build" = 1 ]; then
  say "building Release"
  dotnet build src/RespServer -c Release -nologo -v q >&2
  dotnet build src/WebhookGateway -c Release -nologo -v q >&2
  dotnet build benchmarks/Notistream.LoadGen -c Release -nologo -v q >&2
fi
[ -f "$server_dll" ] && [ -f "$gateway_dll" ] && [ -f "$loadgen_dll" ] || die "Release builds missing: run without --no-build"

work=$(mktemp -d)
server_pid="" gateway_pid="" server_port="" gateway_port=""

# stop PID, free_port
source benchmarks/processes.sh
stop_all() { stop "$gateway_pid"; stop "$server_pid"; gateway_pid="" server_pid=""; }
cleanup() { stop_all; rm -rf "$work"; }
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT
trap 'exit 143' TERM

wait_ready() { # kind port pid: 0 once it answers (PING, or GET /readyz 200), 1 if it exited, 2 after 30 s
  local kind=$1 port=$2 pid=$3 line
  for _ in $(seq 300); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 1; }
    if { exec 3<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null; then
      if [ "$kind" = server ]; then printf 'PING\r\n' >&3; else printf 'GET /readyz HTTP/1.0\r\n\r\n' >&3; fi
      line=""
      read -r -t 5 line <&3 || true
      exec 3<&-
      [[ $line == +PONG* || $line == "HTTP/1."?" 200"* ]] && return 0
    fi
    sleep 0.1
  done
  return 2
}

start() { # kind: starts it on a free port (a few tries: a port can be taken in between); sets port and pid
  local kind=$1 log="$work/$1.log" attempt status
  for attempt in 1 2 3 4 5; do
    port=$(free_port)
    if [ "$kind" = server ]; then
      dotnet "$server_dll" --port "$port" --bind 127.0.0.1 --maxclients $((subscribers * 2 + 1000)) --loglevel warning >"$log" 2>&1 &
    else
      # The subscriber limit above N; loopback clients are not rate-limited (RateLimit:ExemptLoopback).
      dotnet "$gateway_dll" --server "127.0.0.1:$server_port" --web-port "$port" \
        --Subscribe:MaxSubscribers $((subscribers + 100)) --Logging:LogLevel:Default Warning >"$log" 2>&1 &
    fi
    pid=$!
    status=0
    wait_ready "$kind" "$port" "$pid" || status=$?
    [ "$status" = 0 ] && return 0
    if [ "$status" = 2 ]; then stop "$pid"; cat "$log" >&2; die "the $kind did not answer on port $port within 30 s"; fi
    grep -qi 'address already in use' "$log" || { cat "$log" >&2; die "the $kind exited during start-up"; }
    say "port $port was taken, trying another (attempt $attempt)"
  done
  cat "$log" >&2
  die "the $kind could not find a free port"
}

start_all() {
  local port pid
  start server; server_port=$port server_pid=$pid
  start gateway; gateway_port=$port gateway_pid=$pid
}

failed=0 reports=() loads=()
started=$(date -u '+%Y-%m-%d %H:%M UTC')
for rep in $(seq "$repeat"); do
  start_all
  common=(--port "$server_port" --scenario sse --gateway-url "http://127.0.0.1:$gateway_port" --sse-subscribers "$subscribers")
  # A fresh .NET process runs unoptimised code for its first seconds: a discarded small run first.
  say "run $rep of $repeat: warming up"
  dotnet "$loadgen_dll" "${common[@]}" --smoke --sse-subscribers "$((subscribers < 50 ? subscribers : 50))" "${extra[@]}" >/dev/null 2>&1 \
    || say "warning: the warm-up run failed"
  loads+=("$(cut -d' ' -f1-3 /proc/loadavg)")
  json="$work/run-$rep.json" status=0
  say "run $rep of $repeat: $subscribers subscribers, rates $rate, $duration s a case (load average ${loads[-1]})"
  dotnet "$loadgen_dll" "${common[@]}" --sse-rate "$rate" --duration "$duration" \
    --server-pid "$server_pid" --gateway-pid "$gateway_pid" --json "$json" "${extra[@]}" >&2 || status=$?
  [ "$status" -le 1 ] && reports+=("$json")
  if [ "$status" = 1 ]; then
    say "run $rep lost messages: its figures are INVALID"; failed=1
  elif [ "$status" != 0 ]; then
    say "the load generator failed in run $rep"; failed=1
  fi
  stop_all
done

[ ${#reports[@]} -gt 0 ] || die "no run produced results"

cpu=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//' || true)
os=$( (. /etc/os-release && echo "$PRETTY_NAME") 2>/dev/null || uname -s)
report=$work/report.md
summary_status=0
{
  echo "- command: \`$invocation\`"
  echo "- date: $started"
  echo "- machine: $(nproc) cores, ${cpu:-unknown CPU}, $os, kernel $(uname -r); .NET $(dotnet --version)"
  echo "- load average (1, 5, 15 min) before each run: $(IFS=';'; echo "${loads[*]}" | sed 's/;/; /g')"
  echo "- method: each run on a freshly started server and gateway after a discarded small run, $repeat run(s), $duration s per case, the first 20% (at most 1 s) not measured; medians"
  echo
  dotnet "$loadgen_dll" --summarize "${reports[@]}" || summary_status=$?
  if [ "$summary_status" != 0 ]; then
    echo
    echo "Figures marked INVALID come from runs that lost messages: they are not results."
  fi
} >"$report"
if [ -n "$out" ]; then cp "$report" "$out"; say "report written to $out"; else cat "$report"; fi
[ "$failed" = 0 ] && [ "$summary_status" = 0 ] || exit 1
