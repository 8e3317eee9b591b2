#!/usr/bin/env bash
# Starts Notistream: the pub/sub server and the webhook gateway.
#
#   ./startserver.sh          both
#   ./startserver.sh pubsub   only the pub/sub server (RESP, redis-cli compatible)
#   ./startserver.sh web      only the webhook gateway (publishes to NOTISTREAM_HOST:NOTISTREAM_PORT)
#
# Builds what is out of date (Release), waits until each part answers, prints where they listen
# and how to use them, and stays in the foreground. Ctrl-C or SIGTERM stops both and exits 0; if
# one part dies, the other is stopped and the script exits non-zero.
#
# Environment:
#   NOTISTREAM_PORT           pub/sub server port (6379); web only: the port of the server to publish to
#   NOTISTREAM_WEB_PORT       gateway port (8080)
#   NOTISTREAM_BIND           address both listen on (127.0.0.1; 0.0.0.0 to be reachable from outside)
#   NOTISTREAM_PASSWORD       pub/sub server password (requirepass); the gateway and the client read it too
#   NOTISTREAM_HOST           web only: the host of the pub/sub server to publish to (127.0.0.1)
#   NOTISTREAM_SERVER         deprecated (use NOTISTREAM_HOST and NOTISTREAM_PORT): web only, host:port
#   NOTISTREAM_TOKEN          publish token the gateway requires (Authorization: Bearer ...)
#   GITHUB_WEBHOOK_SECRET     secret of the GitHub webhook; without it POST /github refuses deliveries
#   NOTISTREAM_TLS_PORT       also listen for TLS on this port (tls-port); needs NOTISTREAM_TLS_CERT and NOTISTREAM_TLS_KEY
#   NOTISTREAM_TLS_CERT       server certificate, PEM (tls-cert-file)
#   NOTISTREAM_TLS_KEY        its private key, PEM (tls-key-file)
#   NOTISTREAM_TLS_CA         CA that client certificates must chain to (tls-ca-cert-file); unset: no client certificates asked
#                             (relative TLS paths are taken from the folder the script is run from)
#   NOTISTREAM_CONFIGURATION  build configuration to run (Release)
#   NOTISTREAM_DATA           folder the pub/sub server keeps its streams (channel history) in, as Redis's
#                             append-only file under appendonlydir/ (./data beside this script; a relative path
#                             is taken from the folder the script is run from); created if missing
set -uo pipefail
start_dir=$PWD
cd "$(dirname "$0")" || exit 1

usage() { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; }

mode=${1:-all}
case "$mode" in
  all | pubsub | web) ;;
  -h | --help) usage; exit 0 ;;
  *) echo "startserver.sh: unknown part '$mode'" >&2; usage >&2; exit 2 ;;
esac

port=${NOTISTREAM_PORT:-6379}
web_port=${NOTISTREAM_WEB_PORT:-8080}
bind=${NOTISTREAM_BIND:-127.0.0.1}
config=${NOTISTREAM_CONFIGURATION:-Release}
server_host=${NOTISTREAM_HOST:-127.0.0.1}
[[ $server_host == *:* && $server_host != \[* ]] && server_host="[$server_host]"
server_address=${NOTISTREAM_SERVER:-$server_host:$port}
# Where this script checks readiness: a wildcard bind is reached on loopback.
case "$bind" in 0.0.0.0 | '*' | '::' | '::*') probe_host=127.0.0.1 ;; *) probe_host=$bind ;; esac
start_timeout=${NOTISTREAM_START_TIMEOUT:-60}

server_dll=src/RespServer/bin/$config/net10.0/notistream-server.dll
gateway_dll=src/WebhookGateway/bin/$config/net10.0/notistream-gateway.dll

log() { echo "startserver: $*" >&2; }

# Builds a project when its output is missing or any of its sources (or the shared build
# settings) is newer than the output.
build_if_needed() {
  local project=$1 dll=$2 newer
  if [[ -f $dll ]]; then
    newer=$(find "$project" Directory.Build.props Directory.Packages.props global.json \
      -type f \( -name '*.cs' -o -name '*.csproj' -o -name '*.props' -o -name '*.json' \) \
      -not -path '*/bin/*' -not -path '*/obj/*' -newer "$dll" -print -quit 2>/dev/null)
    [[ -z $newer ]] && return 0
  fi
  log "building $project ($config)..."
  local output
  if ! output=$(dotnet build "$project" -c "$config" --nologo -v quiet 2>&1); then
    echo "$output" >&2
    log "the build of $project failed"
    exit 1
  fi
}

# True when a RESP server answers PING on the port (+PONG, or -NOAUTH when it has a password).
resp_ready() {
  (
    exec 3<>"/dev/tcp/$probe_host/$1" || exit 1
    printf 'PING\r\n' >&3
    IFS= read -r -t 2 reply <&3 || exit 1
    [[ $reply == +PONG* || $reply == -NOAUTH* ]]
  ) 2>/dev/null
}

# True when GET path answers 200 on the gateway.
http_ok() {
  (
    exec 3<>"/dev/tcp/$probe_host/$1" || exit 1
    printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "$2" "$probe_host" >&3
    IFS= read -r -t 2 status <&3 || exit 1
    [[ $status == HTTP/1.?' 200'* ]]
  ) 2>/dev/null
}

# True when something already accepts connections on the port.
port_taken() {
  (exec 3<>"/dev/tcp/$probe_host/$1") 2>/dev/null
}

pids=()
names=()

start_part() { # name command...
  local name=$1
  shift
  "$@" &
  pids+=($!)
  names+=("$name")
}

alive() { kill -0 "$1" 2>/dev/null; }

# SIGTERM to every part still running, SIGKILL to any still there after 15 s, and reap them all.
# (bash reaps an exited child at once, so kill -0 fails as soon as it is gone.)
stop_all() {
  local pid deadline=$((SECONDS + 15))
  for pid in "${pids[@]}"; do
    alive "$pid" && kill -TERM "$pid" 2>/dev/null
  done
  for pid in "${pids[@]}"; do
    while alive "$pid" && ((SECONDS < deadline)); do
      sleep 0.1
    done
    if alive "$pid"; then
      log "pid $pid did not stop within 15 s; killing it"
      kill -KILL "$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null
  done
}

on_signal() {
  trap '' INT TERM
  log "stopping..."
  stop_all
  log "stopped"
  exit 0
}
trap on_signal INT TERM

# Waits until check succeeds; fails when the part's process exits first or the time runs out.
wait_ready() { # name pid check...
  local name=$1 pid=$2 deadline=$((SECONDS + start_timeout))
  shift 2
  until "$@"; do
    if ! alive "$pid"; then
      wait "$pid" 2>/dev/null
      log "the $name exited during start-up (exit code $?)"
      stop_all
      exit 1
    fi
    if ((SECONDS >= deadline)); then
      log "the $name did not become ready within ${start_timeout} s"
      stop_all
      exit 1
    fi
    sleep 0.1
  done
}

# The server keeps the keyspace (every channel's history) in an append-only file there: a restart finds it.
case "${NOTISTREAM_DATA:-}" in
  '') data_dir=$PWD/data ;;
  /*) data_dir=$NOTISTREAM_DATA ;;
  *) data_dir=$start_dir/$NOTISTREAM_DATA ;;
esac

server_args=(--port "$port" --bind "$bind" --appendonly yes --dir "$data_dir")
[[ -n ${NOTISTREAM_PASSWORD:-} ]] && server_args+=(--requirepass "$NOTISTREAM_PASSWORD")
# A relative certificate or key path is taken from the folder the script is run from, as NOTISTREAM_DATA is.
from_start_dir() { case "$1" in '' | /*) printf '%s' "$1" ;; *) printf '%s' "$start_dir/$1" ;; esac; }
if [[ -n ${NOTISTREAM_TLS_PORT:-} ]]; then
  server_args+=(--tls-port "$NOTISTREAM_TLS_PORT" --tls-cert-file "$(from_start_dir "${NOTISTREAM_TLS_CERT:-}")"
    --tls-key-file "$(from_start_dir "${NOTISTREAM_TLS_KEY:-}")")
  if [[ -n ${NOTISTREAM_TLS_CA:-} ]]; then
    server_args+=(--tls-ca-cert-file "$(from_start_dir "$NOTISTREAM_TLS_CA")")
  else
    server_args+=(--tls-auth-clients no)
  fi
fi

if [[ $mode == all && $port == "$web_port" ]]; then
  log "NOTISTREAM_PORT and NOTISTREAM_WEB_PORT are both $port; give them different ports"
  exit 1
fi
# A readiness probe cannot tell our process from another one on the same port: refuse early.
if [[ $mode != web ]] && port_taken "$port"; then
  log "port $port is already in use (set NOTISTREAM_PORT, or use './startserver.sh web' with the server that runs there)"
  exit 1
fi
if [[ $mode != pubsub ]] && port_taken "$web_port"; then
  log "port $web_port is already in use (set NOTISTREAM_WEB_PORT)"
  exit 1
fi

if [[ $mode != web ]]; then
  command -v dotnet >/dev/null || { log "dotnet is not installed (.NET 10 SDK)"; exit 1; }
  build_if_needed src/RespServer "$server_dll"
  mkdir -p "$data_dir" || { log "cannot create the data folder $data_dir (NOTISTREAM_DATA)"; exit 1; }
fi
if [[ $mode != pubsub ]]; then
  command -v dotnet >/dev/null || { log "dotnet is not installed (.NET 10 SDK)"; exit 1; }
  build_if_needed src/WebhookGateway "$gateway_dll"
fi

if [[ $mode != web ]]; then
  start_part "pub/sub server" dotnet "$server_dll" "${server_args[@]}"
  wait_ready "pub/sub server" "${pids[-1]}" resp_ready "$port"
fi

if [[ $mode != pubsub ]]; then
  [[ $mode == all ]] && server_address=127.0.0.1:$port
  # The gateway reads NOTISTREAM_PASSWORD itself; --server wins over the NOTISTREAM_HOST/PORT it would read.
  # With both parts it publishes to the server just started, in plain text as the default user: a
  # user or TLS meant for clients in this environment is not for it.
  gateway_env=()
  [[ $mode == all ]] && gateway_env=(-u NOTISTREAM_USER -u NOTISTREAM_TLS -u NOTISTREAM_CA_FILE -u NOTISTREAM_CERT_FILE -u NOTISTREAM_KEY_FILE
    -u NOTISTREAM_SERVER_USER -u NOTISTREAM_SERVER_TLS -u NOTISTREAM_SERVER_CA_FILE -u NOTISTREAM_SERVER_CERT -u NOTISTREAM_SERVER_KEY)
  url_host=$bind
  [[ $url_host == *:* ]] && url_host="[$url_host]"
  start_part "webhook gateway" env "${gateway_env[@]}" dotnet "$gateway_dll" --urls "http://$url_host:$web_port" --server "$server_address"
  if [[ $mode == all ]]; then
    wait_ready "webhook gateway" "${pids[-1]}" http_ok "$web_port" /readyz
  else
    wait_ready "webhook gateway" "${pids[-1]}" http_ok "$web_port" /healthz
  fi
fi

# How to use what is running.
public_host=$bind
[[ $probe_host != "$bind" ]] && public_host=$(hostname -f 2>/dev/null || hostname)
auth=""
[[ -n ${NOTISTREAM_TOKEN:-} ]] && auth='-H "Authorization: Bearer $NOTISTREAM_TOKEN" '
redis_auth=""
[[ -n ${NOTISTREAM_PASSWORD:-} ]] && redis_auth='-a "$NOTISTREAM_PASSWORD" '
{
  echo
  echo "Notistream is running."
  for i in "${!pids[@]}"; do
    case "${names[$i]}" in
      "pub/sub server")
        echo "  pub/sub server   $bind:$port  (pid ${pids[$i]}), data in $data_dir"
        [[ -n ${NOTISTREAM_TLS_PORT:-} ]] && echo "                   TLS on $bind:$NOTISTREAM_TLS_PORT" ;;
      "webhook gateway") echo "  webhook gateway  http://$url_host:$web_port  (pid ${pids[$i]}), publishing to $server_address" ;;
    esac
  done
  if [[ $mode == web ]] && ! http_ok "$web_port" /readyz; then
    echo "  (the gateway is not connected to $server_address yet; publishes answer 503 until it is)"
  fi
  echo
  if [[ $mode != web ]]; then
    echo "Subscribe:  redis-cli -h $public_host -p $port ${redis_auth}subscribe channel1"
    echo "            (or the notistream client)"
    if [[ -n ${NOTISTREAM_TLS_PORT:-} ]]; then
      echo "  over TLS: redis-cli --tls --cacert <ca.crt> [--cert <client.crt> --key <client.key>] -h $public_host -p $NOTISTREAM_TLS_PORT ${redis_auth}subscribe channel1"
    fi
  fi
  if [[ $mode != pubsub ]]; then
    echo "Publish:    curl ${auth}-d \"message=hello&channel=channel1\" http://$public_host:$web_port/"
    echo "            curl ${auth}-d \"hello\" http://$public_host:$web_port/channel1"
    if [[ -n ${GITHUB_WEBHOOK_SECRET:-} ]]; then
      echo "GitHub:     Payload URL http://$public_host:$web_port/github, secret = \$GITHUB_WEBHOOK_SECRET;"
      echo "            each event is published to channel owner/repo"
    else
      echo "GitHub:     set GITHUB_WEBHOOK_SECRET to accept webhooks at /github (refused without it)"
    fi
  else
    echo "Publish:    redis-cli -h $public_host -p $port ${redis_auth}publish channel1 hello"
  fi
  echo "Stop:       Ctrl-C"
  echo
}

# Stay until a signal (handled by on_signal) or until a part exits on its own.
while true; do
  wait -n
  for i in "${!pids[@]}"; do
    if ! alive "${pids[$i]}"; then
      wait "${pids[$i]}" 2>/dev/null
      code=$?
      log "the ${names[$i]} (pid ${pids[$i]}) exited with code $code; stopping the rest"
      stop_all
      exit $((code == 0 ? 1 : code))
    fi
  done
done
