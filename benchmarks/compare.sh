#!/usr/bin/env bash
# Notistream against redis-server on this machine, same load generator, same run: builds Release, starts
# both servers on free loopback ports, runs each scenario against both interleaved (redis, ours, redis,
# ours, ...), and prints the medians and the ratio notistream/redis-server as a markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  cat <<'EOF'
usage: benchmarks/compare.sh [--scenario NAME[,NAME]]... [--duration SECONDS] [--repeat N]
                             [--out FILE] [--smoke] [--no-build] [--server-args ARGS]
                             [--appendfsync always|everysec|no]
                             [-- LOADGEN OPTIONS...]

  --scenario   fanout, channels, patterns, latency, connections, history (default: all)
  --duration   seconds per case and run (default 5; 1 with --smoke)
  --repeat     runs per server and scenario, interleaved; the table shows medians (default 3)
  --out        write the markdown report to FILE instead of stdout
  --smoke      tiny sizes (see notistream-loadgen --help): checks the script, measures nothing
  --no-build   use the Release builds already there
  --server-args  more notistream-server arguments, one string (e.g. "--channel-history none")
  --appendfsync  both servers log every write (appendonly yes) with this fsync policy, each in a fresh
               data folder per run; without it both keep everything in memory only
  after --     passed to every notistream-loadgen run (e.g. -- --subscribers 1,50 --rate 10000)

Both servers are restarted for each run, warmed up with a discarded --smoke run, and stopped on
exit or Ctrl-C. Progress goes to stderr.
Exit status 1 when a run lost messages (its figures are marked INVALID) or failed.
EOF
}

invocation="benchmarks/compare.sh"
for a in "$@"; do
  if [[ $a =~ ^[A-Za-z0-9_./,:=+-]+$ ]]; then invocation+=" $a"; else invocation+=" $(printf '%q' "$a")"; fi
done

scenarios=() duration="" repeat=3 out="" smoke=0 build=1 extra=() server_args=() appendfsync=
while [ $# -gt 0 ]; do
  case "$1" in
    --scenario) IFS=, read -r -a more <<<"${2:?--scenario needs a name}"; scenarios+=("${more[@]}"); shift 2 ;;
    --duration) duration=${2:?--duration needs seconds}; shift 2 ;;
    --repeat) repeat=${2:?--repeat needs a number}; shift 2 ;;
    --out) out=${2:?--out needs a file}; shift 2 ;;
    --smoke) smoke=1; shift ;;
    --no-build) build=0; shift ;;
    --server-args) read -r -a server_args <<<"${2?--server-args needs arguments}"; shift 2 ;;
    --appendfsync) appendfsync=${2:?--appendfsync needs always, everysec or no}; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    --) shift; extra=("$@"); break ;;
    *) echo "compare.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
[ ${#scenarios[@]} -gt 0 ] || scenarios=(fanout channels patterns latency connections history)
if [ -z "$duration" ]; then
  if [ "$smoke" = 1 ]; then duration=1; else duration=5; fi
fi
case "$appendfsync" in "" | always | everysec | no) ;; *) echo "compare.sh: --appendfsync must be always, everysec or no" >&2; exit 2 ;; esac
[[ $repeat =~ ^[1-9][0-9]*$ ]] || { echo "compare.sh: --repeat must be a number >= 1" >&2; exit 2; }
[[ $duration =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "compare.sh: --duration must be a number of seconds" >&2; exit 2; }

say() { echo "compare.sh: $*" >&2; }
die() { say "$*"; exit 2; }

redis_exe=$(command -v redis-server || true)
[ -n "$redis_exe" ] || die "redis-server is not installed (sudo apt-get install redis-server)"

# 10,000 idle connections need as many descriptors in the load generator and in each server.
hard=$(ulimit -Hn)
if [ "$hard" = unlimited ] || [ "$hard" -ge 65536 ]; then ulimit -n 65536; else ulimit -n "$hard"; fi
if [ "$(ulimit -n)" -lt 10500 ]; then
  say "warning: the open-file limit is $(ulimit -n); the connections scenario needs about 10,500 (raise the hard limit)"
fi

server_dll=src/RespServer/bin/Release/net10.0/notistream-server.dll
loadgen_dll=benchmarks/Notistream.LoadGen/bin/Release/net10.0/notistream-loadgen.dll
if [ "$build" = 1 ]; then
  say "building Release"
  dotnet build src/RespServer -c Release -nologo -v q >&2
  dotnet build benchmarks/Notistream.LoadGen -c Release -nologo -v q >&2
fi
[ -f "$server_dll" ] && [ -f "$loadgen_dll" ] || die "Release builds missing: run without --no-build"

work=$(mktemp -d)
redis_pid="" ours_pid="" redis_port="" ours_port=""

# stop PID, free_port
source benchmarks/processes.sh
stop_servers() { stop "$redis_pid"; stop "$ours_pid"; redis_pid="" ours_pid=""; }
cleanup() { stop_servers; rm -rf "$work"; }
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT
trap 'exit 143' TERM

wait_ready() { # port pid: 0 once the server answers PING, 1 if it exited, 2 after 30 s
  local port=$1 pid=$2 line
  for _ in $(seq 300); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 1; }
    if { exec 3<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null; then
      printf 'PING\r\n' >&3
      line=""
      read -r -t 5 line <&3 || true
      exec 3<&-
      [[ $line == +PONG* ]] && return 0
    fi
    sleep 0.1
  done
  return 2
}

start_server() { # name: starts it on a free port (a few tries: a port can be taken in between); sets port and pid
  local name=$1 log="$work/$1.log" attempt status persistence=()
  [ "$name" = redis ] && persistence=(--appendonly no --dir "$work")
  if [ -n "$appendfsync" ]; then
    # A fresh data folder for every start: a run must not load (or rewrite) the one before.
    rm -rf "$work/$name-data" && mkdir -p "$work/$name-data"
    persistence=(--appendonly yes --appendfsync "$appendfsync" --dir "$work/$name-data")
  fi
  for attempt in 1 2 3 4 5; do
    port=$(free_port)
    if [ "$name" = redis ]; then
      "$redis_exe" --port "$port" --bind 127.0.0.1 --save '' "${persistence[@]}" --maxclients 20000 \
        --protected-mode no --daemonize no >"$log" 2>&1 &
    else
      dotnet "$server_dll" --port "$port" --maxclients 20000 --loglevel warning ${persistence[@]+"${persistence[@]}"} ${server_args[@]+"${server_args[@]}"} >"$log" 2>&1 &
    fi
    pid=$!
    if [ "$name" = redis ]; then redis_pid=$pid; else ours_pid=$pid; fi
    status=0
    wait_ready "$port" "$pid" || status=$?
    [ "$status" = 0 ] && return 0
    if [ "$status" = 2 ]; then stop "$pid"; cat "$log" >&2; die "$name did not answer PING on port $port within 30 s"; fi
    grep -qi 'address already in use' "$log" || { cat "$log" >&2; die "$name exited during start-up"; }
    say "port $port was taken, trying another (attempt $attempt)"
  done
  cat "$log" >&2
  die "$name could not find a free port"
}

start_servers() {
  local port pid
  start_server redis; redis_port=$port
  start_server ours; ours_port=$port
}

failed=0 baseline=() candidate=()
declare -A round_trips=()
core_latency() { # the core-to-core round trip now, in ns (see notistream-loadgen --help), or ?
  local ns
  ns=$(dotnet "$loadgen_dll" --core-latency 2>/dev/null | sed -n 's/^core-to-core round trip: \([0-9]*\) ns$/\1/p')
  echo "${ns:-?}"
}
measured_run() { # name port pid scenario rep: run_one between two round-trip measurements, kept as before/after
  local before after
  before=$(core_latency)
  run_one "$@"
  after=$(core_latency)
  round_trips[$1,$4]+="$before/$after "
}
run_one() { # name port pid scenario rep
  local name=$1 port=$2 pid=$3 scenario=$4 rep=$5 status=0
  local json="$work/$name-$scenario-$rep.json"
  local args=(--port "$port" --scenario "$scenario" --duration "$duration" --server-pid "$pid" --json "$json")
  if [ "$smoke" = 1 ]; then args+=(--smoke); fi
  say "$scenario, run $rep of $repeat: $name"
  dotnet "$loadgen_dll" "${args[@]}" "${extra[@]}" >&2 || status=$?
  if [ "$status" -le 1 ]; then
    if [ "$name" = redis ]; then baseline+=("$json"); else candidate+=("$json"); fi
  fi
  if [ "$status" = 1 ]; then
    say "$name lost messages in $scenario run $rep: those figures are INVALID"
    failed=1
  elif [ "$status" != 0 ]; then
    say "the load generator failed against $name ($scenario run $rep)"
    failed=1
  fi
}

warm_up() { # name port scenario: a short smoke run whose figures are thrown away
  say "$3: warming up $1"
  dotnet "$loadgen_dll" --port "$2" --scenario "$3" --smoke "${extra[@]}" >/dev/null 2>&1 \
    || say "warning: the warm-up run against $1 failed"
}

started=$(date -u '+%Y-%m-%d %H:%M UTC')
for scenario in "${scenarios[@]}"; do
  for rep in $(seq "$repeat"); do
    # Fresh servers for every run: a server keeps traces of the run before (Redis's pattern table
    # keeps its size after 10,000 patterns are gone, and every later PUBLISH walks it), so a run
    # must not inherit them. A fresh .NET process runs unoptimised code for its first seconds;
    # Redis has nothing to warm. Both get the same warm-up, so the runs compare steady states.
    start_servers
    warm_up redis "$redis_port" "$scenario"
    warm_up ours "$ours_port" "$scenario"
    measured_run redis "$redis_port" "$redis_pid" "$scenario" "$rep"
    measured_run ours "$ours_port" "$ours_pid" "$scenario" "$rep"
    stop_servers
  done
done

[ ${#baseline[@]} -gt 0 ] && [ ${#candidate[@]} -gt 0 ] || die "no run produced results"

cpu=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//' || true)
os=$( (. /etc/os-release && echo "$PRETTY_NAME") 2>/dev/null || uname -s)
report=$work/report.md
compare_status=0
{
  echo "- command: \`$invocation\`"
  echo "- date: $started"
  echo "- machine: $(nproc) cores, ${cpu:-unknown CPU}, $os, kernel $(uname -r); $("$redis_exe" --version | cut -d' ' -f1-3); .NET $(dotnet --version)"
  echo "- method: each run on freshly started servers after a discarded smoke run, redis-server and notistream interleaved, $repeat run(s) each, $duration s per case; medians; ratio = notistream / redis-server"
  echo
  dotnet "$loadgen_dll" --compare --baseline "${baseline[@]}" --candidate "${candidate[@]}" || compare_status=$?
  if [ "$compare_status" != 0 ]; then
    echo
    echo "Figures marked INVALID come from runs that lost messages: they are not results."
  fi
  echo
  echo "Core-to-core round trip just before and just after each run, in run order (ns, \`notistream-loadgen --core-latency\`):"
  echo
  echo "| scenario | redis-server | notistream |"
  echo "| --- | --- | --- |"
  for scenario in "${scenarios[@]}"; do
    echo "| $scenario | ${round_trips[redis,$scenario]:-} | ${round_trips[ours,$scenario]:-} |"
  done
} >"$report"
if [ -n "$out" ]; then cp "$report" "$out"; say "report written to $out"; else cat "$report"; fi
[ "$failed" = 0 ] && [ "$compare_status" = 0 ] || exit 1
