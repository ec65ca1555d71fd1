#!/usr/bin/env bash
# Makes a Docker-compatible container engine available for the container tests: Podman's
# API service on /run/podman/podman.sock (runc, no ulimits: this machine's sandbox refuses
# both crun and raising limits), busybox-static for the tests' own images (nothing is pulled
# from a registry), and Debian's docker-registry on 127.0.0.1:5000 for push tests.
# Idempotent and quiet; fast when everything is already there. Does nothing when
# DOCKER_HOST is set or a Docker engine answers on /var/run/docker.sock.
set -u

SOCKET=/run/podman/podman.sock

answers() { # $1: socket path
  [ -S "$1" ] && curl -sf --max-time 2 --unix-socket "$1" http://d/_ping >/dev/null 2>&1
}

if [ -n "${DOCKER_HOST:-}" ] || answers /var/run/docker.sock; then
  exit 0
fi

if [ "$(id -u)" != 0 ]; then
  answers "$SOCKET" || echo "container-engine: not root; start an engine yourself (see docs/user-guide.md)" >&2
  exit 0
fi

missing=()
command -v podman >/dev/null || missing+=(podman)
command -v runc >/dev/null || missing+=(runc)
[ -x /bin/busybox ] || missing+=(busybox-static)
command -v docker-registry >/dev/null || missing+=(docker-registry)
command -v curl >/dev/null || missing+=(curl)
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 ||
    { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q "${missing[@]}" >/dev/null 2>&1; } ||
    { echo "container-engine: could not install ${missing[*]}" >&2; exit 1; }
fi

CONF=/etc/containers/containers.conf
if ! grep -qs '^runtime *= *"runc"' "$CONF"; then
  mkdir -p /etc/containers
  {
    echo '[containers]'
    echo 'default_ulimits = []'
    echo '[engine]'
    echo 'runtime = "runc"'
  } >"$CONF"
fi

if ! answers "$SOCKET"; then
  mkdir -p "$(dirname "$SOCKET")"
  rm -f "$SOCKET"
  nohup podman system service --time=0 "unix://$SOCKET" >/var/log/podman-service.log 2>&1 &
  for _ in $(seq 1 50); do answers "$SOCKET" && break; sleep 0.2; done
  answers "$SOCKET" || { echo "container-engine: podman system service did not start (see /var/log/podman-service.log)" >&2; exit 1; }
fi

# Debian's own config asks for htpasswd auth; the tests' registry is open, on loopback only.
REGISTRY_CONF=/var/lib/trunkline-registry/config.yml
if ! curl -sf --max-time 2 http://127.0.0.1:5000/v2/ >/dev/null 2>&1; then
  mkdir -p /var/lib/trunkline-registry/data
  cat >"$REGISTRY_CONF" <<'CONF'
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: /var/lib/trunkline-registry/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:5000
CONF
  start-stop-daemon --start --oknodo --background --name docker-registry \
    --exec /usr/bin/docker-registry -- serve "$REGISTRY_CONF"
  for _ in $(seq 1 50); do curl -sf --max-time 1 http://127.0.0.1:5000/v2/ >/dev/null 2>&1 && break; sleep 0.2; done
fi
exit 0
