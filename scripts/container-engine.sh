#!/usr/bin/env bash
# Makes a Docker-compatible container engine available for the container tests: Podman's
# API service on /run/podman/podman.sock (runc, no ulimits: this machine's sandbox refuses
# both crun and raising limits), busybox-static for the tests' own images (nothing is pulled
# from a registry), and Debian's docker-registry on 127.0.0.1:5000 and :5001 (with a login)
# for push and credentials tests.
# Idempotent and quiet; fast when everything is already there. Leaves the engine
# alone when DOCKER_HOST is set or a Docker engine answers on /var/run/docker.sock.
set -u

SOCKET=/run/podman/podman.sock

answers() { # $1: socket path
  [ -S "$1" ] && curl -sf --max-time 2 --unix-socket "$1" http://d/_ping >/dev/null 2>&1
}

own_engine=1
if [ -n "${DOCKER_HOST:-}" ] || answers /var/run/docker.sock; then
  own_engine=0
fi

if [ "$(id -u)" != 0 ]; then
  [ $own_engine = 0 ] || answers "$SOCKET" ||
    echo "container-engine: not root; start an engine yourself (see docs/user-guide.md)" >&2
  exit 0
fi

missing=()
if [ $own_engine = 1 ]; then
  command -v podman >/dev/null || missing+=(podman)
  command -v runc >/dev/null || missing+=(runc)
fi
[ -x /bin/busybox ] || missing+=(busybox-static)
command -v docker-registry >/dev/null || missing+=(docker-registry)
command -v curl >/dev/null || missing+=(curl)
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 ||
    { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q "${missing[@]}" >/dev/null 2>&1; } ||
    { echo "container-engine: could not install ${missing[*]}" >&2; exit 1; }
fi

# Written only when there is no containers.conf yet: a machine's own config is not ours to
# rewrite; if it lacks the two settings, say so.
CONF=/etc/containers/containers.conf
if [ $own_engine = 1 ]; then
  if [ ! -e "$CONF" ]; then
    mkdir -p /etc/containers
    printf '[containers]\ndefault_ulimits = []\n\n[engine]\nruntime = "runc"\n' >"$CONF"
  elif ! grep -qs '^runtime *= *"runc"' "$CONF"; then
    echo "container-engine: $CONF exists without runtime = \"runc\"; left as it is" >&2
  fi
fi

if [ $own_engine = 1 ] && ! answers "$SOCKET"; then
  mkdir -p "$(dirname "$SOCKET")"
  rm -f "$SOCKET"
  # Started from / : the service outlives this script, and conmon fails every container
  # start once the service's working directory is gone (a removed checkout, say).
  (cd / && nohup podman system service --time=0 "unix://$SOCKET" </dev/null >/var/log/podman-service.log 2>&1 &)
  for _ in $(seq 1 50); do answers "$SOCKET" && break; sleep 0.2; done
  answers "$SOCKET" || { echo "container-engine: podman system service did not start (see /var/log/podman-service.log)" >&2; exit 1; }
fi

# Two test registries on loopback, from Debian's docker-registry: an open one on :5000 for
# push tests, and one on :5001 that wants a login (trunkline / registry-pass-1) for
# credentials tests. Both are plain HTTP, which Podman must be told (Docker assumes it for
# 127.0.0.0/8).
start_registry() { # $1: port, $2: extra config
  local dir=/var/lib/trunkline-registry/$1
  if ! curl -s --max-time 2 -o /dev/null "http://127.0.0.1:$1/v2/"; then
    mkdir -p "$dir/data"
    cat >"$dir/config.yml" <<CONF
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $dir/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$1
$2
CONF
    start-stop-daemon --start --oknodo --background --pidfile "$dir/pid" --make-pidfile \
      --exec /usr/bin/docker-registry -- serve "$dir/config.yml"
    for _ in $(seq 1 50); do curl -s --max-time 1 -o /dev/null "http://127.0.0.1:$1/v2/" && break; sleep 0.2; done
  fi
}
HTPASSWD=/var/lib/trunkline-registry/htpasswd
if [ ! -s "$HTPASSWD" ]; then
  mkdir -p "$(dirname "$HTPASSWD")"
  python3 -c 'import crypt; print("trunkline:" + crypt.crypt("registry-pass-1", crypt.mksalt(crypt.METHOD_BLOWFISH)))' >"$HTPASSWD" 2>/dev/null
fi
start_registry 5000 ""
start_registry 5001 "auth:
  htpasswd:
    realm: trunkline-test
    path: $HTPASSWD"
INSECURE=/etc/containers/registries.conf.d/50-trunkline-test-registries.conf
if [ ! -f "$INSECURE" ]; then
  mkdir -p "$(dirname "$INSECURE")"
  printf '[[registry]]\nlocation = "127.0.0.1:5000"\ninsecure = true\n\n[[registry]]\nlocation = "127.0.0.1:5001"\ninsecure = true\n' >"$INSECURE"
fi
exit 0
