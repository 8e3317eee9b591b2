#!/usr/bin/env bash
# Fan-out across the nodes of a NATS cluster beside one standalone node, same run: builds Release,
# starts three clustered nats-servers and three notistream nodes (each joined through a different
# nats-server, as docs/cluster.md shows) and one standalone node, all on free loopback ports; then runs
# the same notistream-loadgen cases single-node (publishers and subscribers on the standalone node) and
# cross-node (publishers on node C, subscribers on A, or on A and B), interleaved, and prints the
# medians and the ratio cross/single as markdown tables.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  cat <<'EOF_USAGE'
usage: benchmarks/cluster-fanout.sh [--subscribers N[,N]...] [--rate MSG/S] [--latency-subscribers N]
                                    [--duration SECONDS] [--repeat N] [--out FILE] [--smoke]
                                    [--no-build] [--configuration NAME] [--history local|jetstream]
                                    [-- LOADGEN OPTIONS...]

  --subscribers          fanout cases: subscribers of the one channel (default 1,50)
  --rate                 latency case: msg/s at a fixed rate (default 20000)
  --latency-subscribers  latency case: subscribers (default 50)
  --duration             seconds per case (default 3; 1 with --smoke)
  --repeat               rounds; each runs single-node, cross-node A, cross-node A+B (default 3)
  --out                  write the markdown report to FILE instead of stdout
  --smoke                small sizes, 1 s a case, one round: checks the script, measures nothing
  --no-build             use the builds already there
  --configuration        the build configuration to build and run (default Release; the tests run
                         --smoke --no-build --configuration Debug, what they built)
  --history              the nodes' nats-history (default local: each node keeps its own history and
                         messages cross over core NATS, the path docs/performance.md measures;
                         jetstream: the channels' history in JetStream, every message through it)
  after --               passed to every notistream-loadgen run (e.g. -- --payload 200)

Cases per round, in rotating order: single-node (everything on the standalone node), cross-node A
(publishers on node C, every subscriber on node A) and cross-node A+B (subscribers round robin on A
and B). Each: fanout deliveries/s and server CPU per 1M deliveries (the three nodes' CPU summed, and
the three nats-servers' beside it), latency p50/p99 at the fixed rate. Needs nats-server on PATH.
Every process is stopped on exit or Ctrl-C. Progress goes to stderr.
Exit status 1 when a run lost messages (its figures are marked INVALID) or failed.
EOF_USAGE
}

invocation="benchmarks/cluster-fanout.sh"
for a in "$@"; do
  if [[ $a =~ ^[A-Za-z0-9_./,:=+-]+$ ]]; then invocation+=" $a"; else invocation+=" $(printf '%q' "$a")"; fi
done

subscribers="" rate="" latency_subscribers="" duration="" repeat="" out="" smoke=0 build=1 extra=() configuration=Release history=local
while [ $# -gt 0 ]; do
  case "$1" in
    --subscribers) subscribers=${2:?--subscribers needs numbers}; shift 2 ;;
    --rate) rate=${2:?--rate needs msg/s}; shift 2 ;;
    --latency-subscribers) latency_subscribers=${2:?--latency-subscribers needs a number}; shift 2 ;;
    --duration) duration=${2:?--duration needs seconds}; shift 2 ;;
    --repeat) repeat=${2:?--repeat needs a number}; shift 2 ;;
    --out) out=${2:?--out needs a file}; shift 2 ;;
    --smoke) smoke=1; shift ;;
    --no-build) build=0; shift ;;
    --configuration) configuration=${2:?--configuration needs a name}; shift 2 ;;
    --history) history=${2:?--history needs local or jetstream}; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    --) shift; extra=("$@"); break ;;
    *) echo "cluster-fanout.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
if [ "$smoke" = 1 ]; then
  : "${subscribers:=1,20}" "${rate:=2000}" "${latency_subscribers:=5}" "${duration:=1}" "${repeat:=1}"
else
  : "${subscribers:=1,50}" "${rate:=20000}" "${latency_subscribers:=50}" "${duration:=3}" "${repeat:=3}"
fi
[[ $subscribers =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || { echo "cluster-fanout.sh: --subscribers must be numbers >= 1, separated by commas" >&2; exit 2; }
[[ $rate =~ ^[1-9][0-9]*$ ]] || { echo "cluster-fanout.sh: --rate must be a number >= 1" >&2; exit 2; }
[[ $latency_subscribers =~ ^[1-9][0-9]*$ ]] || { echo "cluster-fanout.sh: --latency-subscribers must be a number >= 1" >&2; exit 2; }
[[ $history =~ ^(local|jetstream)$ ]] || { echo "cluster-fanout.sh: --history must be local or jetstream" >&2; exit 2; }
[[ $repeat =~ ^[1-9][0-9]*$ ]] || { echo "cluster-fanout.sh: --repeat must be a number >= 1" >&2; exit 2; }
[[ $duration =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "cluster-fanout.sh: --duration must be a number of seconds" >&2; exit 2; }

say() { echo "cluster-fanout.sh: $*" >&2; }
die() { say "$*"; exit 2; }

nats_exe=$(command -v nats-server || true)
[ -n "$nats_exe" ] || die "nats-server is not installed (sudo apt-get install nats-server)"

[[ $configuration =~ ^[A-Za-z0-9_-]+$ ]] || die "--configuration must be a name such as Release or Debug"
server_dll=src/RespServer/bin/$configuration/net10.0/notistream-server.dll
loadgen_dll=benchmarks/Notistream.LoadGen/bin/$configuration/net10.0/notistream-loadgen.dll
if [ "$build" = 1 ]; then
  say "building $configuration"
  dotnet build src/RespServer -c "$configuration" -nologo -v q >&2
  dotnet build benchmarks/Notistream.LoadGen -c "$configuration" -nologo -v q >&2
fi
[ -f "$server_dll" ] && [ -f "$loadgen_dll" ] || die "$configuration builds missing: run without --no-build"

work=$(mktemp -d)
nats_pids=() nats_ports=() node_pids=() node_ports=() pids=()

# stop PID, free_port
source benchmarks/processes.sh
stop_all() {
  local pid
  for pid in "${pids[@]}"; do stop "$pid"; done
  pids=()
  return 0
}
cleanup() { stop_all; rm -rf "$work"; }
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT
trap 'exit 143' TERM

wait_ready() { # kind port pid: 0 once it answers (nats: its INFO line; node: +PONG), 1 if it exited, 2 after 30 s
  local kind=$1 port=$2 pid=$3 line
  for _ in $(seq 300); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 1; }
    if { exec 3<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null; then
      [ "$kind" = nats ] || printf 'PING\r\n' >&3
      line=""
      read -r -t 5 line <&3 || true
      exec 3<&-
      [[ $line == +PONG* || $line == INFO* ]] && return 0
    fi
    sleep 0.1
  done
  return 2
}

started_ok() { # kind name port pid log: dies unless it answers
  local status=0
  wait_ready "$1" "$3" "$4" || status=$?
  [ "$status" = 0 ] && return 0
  cat "$5" >&2
  [ "$status" = 2 ] && die "$2 did not answer on port $3 within 30 s"
  die "$2 exited during start-up (a port taken in between? run it again)"
}

# Three nats-servers routed to each other: the arguments of docs/cluster.md, on free ports.
cluster_ports=() monitor_ports=()
for i in 0 1 2; do nats_ports+=("$(free_port)"); cluster_ports+=("$(free_port)"); monitor_ports+=("$(free_port)"); done
for i in 0 1 2; do
  routes=()
  for j in 0 1 2; do [ "$j" = "$i" ] || routes+=("nats://127.0.0.1:${cluster_ports[$j]}"); done
  "$nats_exe" -a 127.0.0.1 -p "${nats_ports[$i]}" -n "nats-$i" -m "${monitor_ports[$i]}" --cluster_name notistream \
    -cluster "nats://127.0.0.1:${cluster_ports[$i]}" -routes "$(IFS=,; echo "${routes[*]}")" -js -sd "$work/nats-$i" >"$work/nats-$i.log" 2>&1 &
  nats_pids+=($!) pids+=($!)
done
for i in 0 1 2; do started_ok nats "nats-server $i" "${nats_ports[$i]}" "${nats_pids[$i]}" "$work/nats-$i.log"; done

# Nodes A, B, C, each through a different nats-server, and S on its own.
names=(A B C S)
for i in 0 1 2 3; do
  port=$(free_port)
  cluster=()
  [ "$i" = 3 ] || cluster=(--nats-servers "nats://127.0.0.1:${nats_ports[$i]}" --nats-history "$history")
  dotnet "$server_dll" --port "$port" --bind 127.0.0.1 --loglevel warning "${cluster[@]}" >"$work/node-${names[$i]}.log" 2>&1 &
  node_pids+=($!) node_ports+=("$port") pids+=($!)
done
for i in 0 1 2 3; do started_ok node "node ${names[$i]}" "${node_ports[$i]}" "${node_pids[$i]}" "$work/node-${names[$i]}.log"; done
routez() { # monitor port: a nats-server's /routez (HTTP/1.0: it closes the connection after the answer)
  local text=""
  { exec 3<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 0
  printf 'GET /routez HTTP/1.0\r\n\r\n' >&3
  read -r -d '' -t 2 text <&3 || true
  exec 3<&-
  printf '%s' "$text"
}

info_cluster() { # port: a node's INFO cluster text (one bulk reply: its length, then the text)
  local head="" text=""
  { exec 3<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 0
  printf 'INFO cluster\r\n' >&3
  if read -r -t 2 head <&3 && [[ $head =~ ^\$([0-9]+) ]]; then read -r -t 2 -N "${BASH_REMATCH[1]}" text <&3 || true; fi
  exec 3<&-
  printf '%s' "$text"
}

# Ready means routed and joined: each nats-server has routes to the two others (/routez) and each
# node is connected to its nats-server (INFO cluster); the load generator then waits for each case's
# interest itself.
waited=$SECONDS
for _ in $(seq 600); do
  ready=1
  for i in 0 1 2; do
    [[ $(routez "${monitor_ports[$i]}") =~ \"num_routes\":\ *2 ]] || ready=0
    text=$(info_cluster "${node_ports[$i]}")
    [[ $text == *nats_connected:1* ]] || ready=0
    [ "$history" = local ] || [[ $text == *nats_history_ready:1* ]] || ready=0
  done
  [ "$ready" = 1 ] && break
  sleep 0.1
done
[ "$ready" = 1 ] || die "the cluster did not form within 60 s (routes or node connections missing)"
say "cluster formed $((SECONDS - waited)) s after the processes answered"
port_a=${node_ports[0]} port_b=${node_ports[1]} port_c=${node_ports[2]} port_s=${node_ports[3]}
all_nodes="${node_pids[0]},${node_pids[1]},${node_pids[2]}"
all_nats="${nats_pids[0]},${nats_pids[1]},${nats_pids[2]}"
say "nats-servers on ${nats_ports[*]}; nodes A $port_a, B $port_b, C $port_c (cluster), S $port_s (standalone)"

sizes=(--scenario fanout,latency --subscribers "$subscribers" --rate "$rate" --latency-subscribers "$latency_subscribers")
[ "$smoke" = 0 ] || sizes=(--smoke "${sizes[@]}")
single=(--port "$port_s" --server-pid "${node_pids[3]}")
cross_a=(--port "$port_a" --publish-port "$port_c" --server-pid "$all_nodes" --nats-pid "$all_nats")
cross_ab=(--port "$port_a" --subscribe-ports "$port_a,$port_b" --publish-port "$port_c" --server-pid "$all_nodes" --nats-pid "$all_nats")

# A fresh .NET process runs unoptimised code for its first seconds: discarded small runs first.
say "warming up"
for setup in single cross_ab; do
  declare -n args=$setup
  if ! dotnet "$loadgen_dll" "${args[@]}" --smoke --scenario fanout,latency "${extra[@]}" >"$work/warm-up.log" 2>&1; then
    say "warning: the $setup warm-up run failed:"
    grep -v '^ ' "$work/warm-up.log" | tail -n 5 >&2
  fi
  unset -n args
done

failed=0 loads=()
declare -A reports=([single]="" [cross_a]="" [cross_ab]="")
started=$(date -u '+%Y-%m-%d %H:%M UTC')
setups=(single cross_a cross_ab)
for rep in $(seq "$repeat"); do
  for k in 0 1 2; do
    setup=${setups[$(((k + rep - 1) % 3))]}
    declare -n args=$setup
    loads+=("$(cut -d' ' -f1-3 /proc/loadavg)")
    json="$work/$setup-$rep.json" status=0
    say "round $rep of $repeat: $setup, $duration s a case (load average ${loads[-1]})"
    dotnet "$loadgen_dll" "${args[@]}" "${sizes[@]}" --duration "$duration" --json "$json" "${extra[@]}" >&2 || status=$?
    unset -n args
    [ "$status" -le 1 ] && reports[$setup]+=" $json"
    if [ "$status" = 1 ]; then
      say "round $rep, $setup lost messages: its figures are INVALID"; failed=1
    elif [ "$status" != 0 ]; then
      say "the load generator failed in round $rep, $setup"; failed=1
    fi
  done
done

for setup in single cross_a cross_ab; do
  [ -n "${reports[$setup]}" ] || die "no $setup run produced results"
done

cpu=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//' || true)
os=$( (. /etc/os-release && echo "$PRETTY_NAME") 2>/dev/null || uname -s)
report=$work/report.md
summary_status=0
{
  echo "- command: \`$invocation\`"
  echo "- date: $started"
  echo "- machine: $(nproc) cores, ${cpu:-unknown CPU}, $os, kernel $(uname -r); .NET $(dotnet --version); $("$nats_exe" --version)"
  echo "- load average (1, 5, 15 min) before each run: $(IFS=';'; echo "${loads[*]}" | sed 's/;/; /g')"
  echo "- set-up: 3 nats-servers routed to each other (JetStream on), nodes A, B, C each joined through a different one (nats-history $history), node S standalone; all on 127.0.0.1"
  echo "- method: $repeat round(s), each single-node, cross-node A, cross-node A+B in rotating order after discarded small runs, $duration s per case, the first 20% (at most 1 s) not measured; medians. Cross-node server CPU is the three nodes' summed; NATS CPU the three nats-servers'"
  echo
  echo "### Single-node (publishers and subscribers on S) and cross-node A (publishers on C, subscribers on A)"
  echo
  # shellcheck disable=SC2086 # the report lists are space-separated file names from mktemp
  dotnet "$loadgen_dll" --compare --baseline ${reports[single]} --candidate ${reports[cross_a]} --names single-node,cross-node || summary_status=$?
  echo
  echo "### Single-node and cross-node A+B (publishers on C, subscribers round robin on A and B)"
  echo
  # shellcheck disable=SC2086
  dotnet "$loadgen_dll" --compare --baseline ${reports[single]} --candidate ${reports[cross_ab]} --names single-node,cross-node-AB || summary_status=$?
  if [ "$summary_status" != 0 ]; then
    echo
    echo "Figures marked INVALID come from runs that lost messages: they are not results."
  fi
} >"$report"
if [ -n "$out" ]; then cp "$report" "$out"; say "report written to $out"; else cat "$report"; fi
[ "$failed" = 0 ] && [ "$summary_status" = 0 ] || exit 1
