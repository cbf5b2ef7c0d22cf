#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# A shared Pulumi state backend on a real distributed object store: SeaweedFS (`weed server -s3`: master, volume
# server, filer and S3 gateway in one process), on 127.0.0.1 only, with one bucket, for the tests that run more than
# one runner on one stack (scripts/backend/with-s3.sh starts it for `npm run test:e2e` and `npm run bench:backend`).
#
#   eval "$(scripts/backend/seaweedfs.sh up)"     # prints only `export` lines (below); running it again re-prints them
#   scripts/backend/seaweedfs.sh down             # stops it (only the process `up` started) and removes its state
#
# Exports: E2E_S3_BACKEND_URL (s3://<bucket>?endpoint=127.0.0.1:<port>&s3ForcePathStyle=true&disableSSL=true&
# region=us-east-1, Pulumi's DIY backend URL) and AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY: a key pair made for
# this start (openssl rand), the only identity of the S3 gateway's config (-s3.config, mode 600). The secret is
# never logged. Every listening socket (HTTP and gRPC of master, volume server, filer and S3) is bound to 127.0.0.1;
# `up` checks that with `ss` and fails otherwise. The master's anonymous telemetry is off; the Iceberg and Lance
# catalog ports are off. The bucket is created through the S3 API (scripts/backend/s3.ts, signed with the key),
# which is also the readiness check. Outside its state dir weed writes only the Unix sockets of its gRPC servers,
# /tmp/seaweedfs-<part>-grpc-<port>.sock (a path fixed in `weed server`); `down` removes them.
#
# State (data, metadata, config, log, pid) in S3_STATE_DIR (default: the cluster's state dir plus "-s3",
# $ISTIO_CANARY_CACHE/cluster-state-s3). Ports: S3 on S3_PORT (default 18333), master 19333, volume server 18080,
# filer 18888, each gRPC port its HTTP port + 10000; a port in use is replaced by the next free one. Every port stays
# below the kernel's ephemeral range (net.ipv4.ip_local_port_range, 32768 by default): a port in that range can be
# the local end of any client connection on the machine at the moment weed binds it (a CI run once lost
# 127.0.0.1:38080 that way, and weed exits when one of its listeners cannot bind).
set -euo pipefail
LOG_TAG=backend/seaweedfs
# shellcheck source=../lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../lib.sh"
REPO="$(cd "$LIB_DIR/.." && pwd)"

S="${S3_STATE_DIR:-${CLUSTER_STATE_DIR:-$ISTIO_CANARY_CACHE/cluster-state}-s3}"
BUCKET="${S3_BUCKET:-istio-canary-state}"
MARKER=.istio-canary-seaweedfs

# alive : true when $S/weed.pid names a running weed started with this state dir.
alive() {
  [[ -f $S/weed.pid ]] || return 1
  local pid cmd
  pid="$(<"$S/weed.pid")"
  [[ $pid =~ ^[0-9]+$ && -r /proc/$pid/cmdline ]] || return 1
  cmd="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
  [[ ${cmd%% *} == */weed && $cmd == *" server "* && $cmd == *"-dir=$S/data "* ]] || return 1
  local stat
  stat="$(cat "/proc/$pid/stat" 2>/dev/null)" || return 1
  stat="${stat##*) }"
  [[ ${stat%% *} != Z ]]
}

print_exports() {
  emit_export E2E_S3_BACKEND_URL "$(<"$S/url")"
  # shellcheck disable=SC1091
  (source "$S/credentials" && emit_export AWS_ACCESS_KEY_ID "$AWS_ACCESS_KEY_ID" &&
    emit_export AWS_SECRET_ACCESS_KEY "$AWS_SECRET_ACCESS_KEY")
}

# stop : SIGTERM, then SIGKILL after 1 s; then the gRPC sockets it left in /tmp. `weed server` stops its volume
# server before its filer, whose last metadata flush then waits 15 s for the volume server that is gone: nothing
# worth keeping in a state dir that is removed next.
stop() {
  if alive; then
    local pid t0=$SECONDS t0ns killed=0
    t0ns="$(date +%s%N)"
    pid="$(<"$S/weed.pid")"
    log "stopping weed (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    while alive; do
      if ((killed == 0 && $(date +%s%N) - t0ns >= 1000000000)); then
        kill -KILL "$pid" 2>/dev/null || true
        killed=1
      fi
      ((SECONDS - t0 < 20)) || die "weed (pid $pid) still runs after SIGKILL"
      sleep 0.1
    done
    log "weed stopped$( ((killed)) && echo " (SIGKILL after 1 s)")"
  fi
  local part port
  for part in master volume filer s3; do
    port="$(cat "$S/ports/$part" 2>/dev/null)" || continue
    rm -f "/tmp/seaweedfs-$part-grpc-$((port + 10000)).sock"
  done
}

# port_free PORT : below the ephemeral range, no socket (listening or connected) uses it and no earlier pick took it.
declare -A TAKEN=()
EPHEMERAL_LOW="$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)"
port_free() {
  (($1 < EPHEMERAL_LOW)) && [[ -z ${TAKEN[$1]:-} ]] && [[ -z "$(ss -Htan "sport = :$1" 2>/dev/null)" ]]
}
# pick_port VAR PREFERRED : VAR = PREFERRED, or the next port above it that is free and whose gRPC port
# (+10000) is free too.
pick_port() {
  local var=$1 p=$2 n=0
  until port_free "$p" && port_free $((p + 10000)); do
    p=$((p + 1)) n=$((n + 1))
    ((n < 200)) || die "no free port near $2 (a port and its gRPC port + 10000, both below $EPHEMERAL_LOW)"
  done
  TAKEN[$p]=1 TAKEN[$((p + 10000))]=1
  printf -v "$var" '%s' "$p"
}

up() {
  require_cmd openssl ss flock node
  lock "$S.lock" "the SeaweedFS state dir $S"
  if [[ -f $S/$MARKER ]]; then
    if alive && [[ -f $S/up.done ]]; then
      log "SeaweedFS already running (state $S)"
      print_exports
      return 0
    fi
    log "found a stale SeaweedFS state in $S; cleaning it up first"
    stop
    rm -rf "$S"
  elif [[ -e $S && -n "$(ls -A "$S" 2>/dev/null)" ]]; then
    die "$S exists, is not empty and was not made by this script; remove it or set S3_STATE_DIR"
  fi
  local t0=$SECONDS
  eval "$("$LIB_DIR/toolchain/run.sh" seaweedfs "$LIB_DIR/toolchain/seaweedfs.sh")"
  mkdir -p "$S/data" "$S/meta" "$S/home" "$S/logs"
  chmod 700 "$S"
  touch "$S/$MARKER"

  local s3 master volume filer
  pick_port s3 "${S3_PORT:-18333}"
  pick_port master 19333
  pick_port volume 18080
  pick_port filer 18888
  mkdir -p "$S/ports"
  local part
  for part in s3 master volume filer; do echo "${!part}" >"$S/ports/$part"; done

  # One identity, made for this start; the secret goes into files of mode 600 only.
  local key secret
  key="E2E$(openssl rand -hex 8 | tr a-f A-F)"
  secret="$(openssl rand -base64 30 | tr -d '\n')"
  (
    umask 077
    printf 'AWS_ACCESS_KEY_ID=%q\nAWS_SECRET_ACCESS_KEY=%q\n' "$key" "$secret" >"$S/credentials"
    cat >"$S/s3.json" <<JSON
{
  "identities": [
    {
      "name": "istio-canary-tests",
      "credentials": [{ "accessKey": "$key", "secretKey": "$secret" }],
      "actions": ["Admin", "Read", "List", "Tagging", "Write"]
    }
  ]
}
JSON
  )
  local url="s3://$BUCKET?endpoint=127.0.0.1:$s3&s3ForcePathStyle=true&disableSSL=true&region=us-east-1"
  echo "$url" >"$S/url"

  # HOME and the working directory point into the state dir: weed reads master.toml, filer.toml, security.toml
  # from ., ~/.seaweedfs and /etc/seaweedfs; none of a user's may change this server.
  (
    unlock "$S.lock" # the server must not hold the state dir's lock
    cd "$S/home"
    exec env HOME="$S/home" setsid "$SEAWEEDFS_BIN" -logdir="$S/logs" server \
      -ip=127.0.0.1 -ip.bind=127.0.0.1 \
      -dir="$S/data" -master.dir="$S/meta" \
      -master.port="$master" -master.port.grpc=$((master + 10000)) \
      -volume.port="$volume" -volume.port.grpc=$((volume + 10000)) \
      -filer -filer.port="$filer" -filer.port.grpc=$((filer + 10000)) -filer.localSocket="$S/filer.sock" \
      -s3 -s3.port="$s3" -s3.port.grpc=$((s3 + 10000)) -s3.localSocket="$S/s3.sock" -s3.config="$S/s3.json" \
      -s3.port.iceberg=0 -s3.port.lance=0 -s3.iam=false \
      -master.telemetry=false -master.volumeSizeLimitMB=64 -volume.max=64 -volume.preStopSeconds=0 \
      </dev/null >"$S/weed.log" 2>&1
  ) &
  echo $! >"$S/weed.pid"
  log "started weed server (pid $!, log $S/weed.log): S3 on 127.0.0.1:$s3"

  # weed exits at once when one of its listeners cannot bind: say so now rather than after the S3 check's minute.
  local waited=0
  while alive && [[ -z "$(ss -Hltn "sport = :$s3" 2>/dev/null)" ]] && ((waited < 600)); do
    sleep 0.1
    waited=$((waited + 1))
  done
  # The bucket, through the S3 API with the key: also the proof that the gateway answers and authenticates.
  if ! alive || ! (cd "$REPO" && AWS_ACCESS_KEY_ID="$key" AWS_SECRET_ACCESS_KEY="$secret" \
    node -r ./stacks/preload.js scripts/backend/s3.ts create-bucket "$url"); then
    alive || log "weed exited; the last lines of $S/weed.log:"
    tail -n 20 "$S/weed.log" >&2
    stop
    die "SeaweedFS did not serve the bucket (see $S/weed.log)"
  fi

  # Every listening socket of the process on 127.0.0.1 only.
  local pid listening
  pid="$(<"$S/weed.pid")"
  listening="$(ss -Hltnp | grep "pid=$pid," | awk '{print $4}' | sort -u)"
  if grep -qv '^127\.0\.0\.1:' <<<"$listening"; then
    stop
    die "weed listens beyond 127.0.0.1: $(tr '\n' ' ' <<<"$listening")"
  fi
  log "listening on $(tr '\n' ' ' <<<"$listening")"
  touch "$S/up.done"
  log "SeaweedFS up in $((SECONDS - t0)) s; bucket $BUCKET"
  print_exports
}

down() {
  lock "$S.lock" "the SeaweedFS state dir $S"
  if [[ ! -e $S ]]; then
    log "nothing to do: $S does not exist"
    return 0
  fi
  [[ -f $S/$MARKER ]] || die "$S has no $MARKER marker: not made by this script, leaving it alone"
  stop
  rm -rf "$S"
  log "SeaweedFS stopped and $S removed"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  *) die "usage: scripts/backend/seaweedfs.sh up|down" ;;
esac
