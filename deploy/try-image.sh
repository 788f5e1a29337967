#!/usr/bin/env bash
# Builds the runtime image of ./Dockerfile on a machine without a registry or a container engine that can
# start containers (how it was checked here), and serves the demo from the image's filesystem:
#   1. a Debian bookworm base made by debootstrap from Debian's mirror, imported as debian:bookworm-slim;
#   2. the build stage replaced by an already built binary (`--build-context build=DIR`, DIR/out/oversight:
#      podman skips the unused stage);
#   3. the image's filesystem run with chroot as its user (uid 10001), `oversight demo` in /data, then
#      /readyz and the image's health-check command against it.
# Where `docker build .` / `podman build .` and `docker run` work, use them instead (see the Dockerfile).
# Needs root, podman, debootstrap (apt-get install podman debootstrap) and a built binary.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${BIN:-${CARGO_TARGET_DIR:-$HOME/.cache/oversight-target}/debug/oversight}"
PORT="${PORT:-18300}"
WORK="$(mktemp -d)"
trap 'pkill -f "oversight demo --bind 127.0.0.1:$PORT" || true; [ -n "${M:-}" ] && umount "$M/proc" 2>/dev/null || true;
      [ -n "${C:-}" ] && { podman umount "$C" >/dev/null; podman rm "$C" >/dev/null; } || true; rm -rf "$WORK"' EXIT

if ! podman image exists docker.io/library/debian:bookworm-slim; then
  debootstrap --variant=minbase bookworm "$WORK/rootfs" http://deb.debian.org/debian >/dev/null
  tar -C "$WORK/rootfs" -c . | podman import - docker.io/library/debian:bookworm-slim >/dev/null
fi
mkdir -p "$WORK/ctx/out"
install -m755 -s "$BIN" "$WORK/ctx/out/oversight"
podman build -q --format docker --pull=never --network host --isolation chroot \
  --build-context build="$WORK/ctx" -t oversight:local .
podman image inspect oversight:local --format 'image: user {{.Config.User}}, workdir {{.Config.WorkingDir}}, cmd {{.Config.Cmd}}, {{.Size}} bytes'

C=$(podman create oversight:local | tail -1)
M=$(podman mount "$C")
mount -t proc proc "$M/proc"
chroot --userspec=10001:10001 "$M" /bin/sh -c \
  "cd /data && OVERSIGHT_DB=/data/oversight-demo.duckdb exec /usr/local/bin/oversight demo --bind 127.0.0.1:$PORT" \
  >"$WORK/out" 2>"$WORK/err" &
for _ in $(seq 60); do curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break; sleep 1; done
echo "readyz: $(curl -fsS "http://127.0.0.1:$PORT/readyz")"
echo "health check inside the image: $(chroot --userspec=10001:10001 "$M" curl -fsS "http://127.0.0.1:$PORT/readyz")"
curl -fsS "http://127.0.0.1:$PORT/v1/indicators/stops.search_rate/series?jurisdiction=demo-city&grain=year&group=race:black" | head -c 200
echo
