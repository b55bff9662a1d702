#!/usr/bin/env bash
# For machines that cannot reach an image registry: makes a minimal stand-in for the Dockerfile's
# base image (node:20-slim) from this machine's own `node` and the shared libraries it links, with
# the same `node` user (uid 1000). Does nothing when the image is already there.
#   local-base-image.sh [tag]      (default: node:20-slim)
set -euo pipefail
tag=${1:-node:20-slim}
if docker image inspect "$tag" >/dev/null 2>&1; then exit 0; fi

node=$(readlink -f "$(command -v node)")
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/usr/local/bin" "$root/etc" "$root/tmp" "$root/home/node"
cp "$node" "$root/usr/local/bin/node"
for lib in $(ldd "$node" | grep -o '/[^ ]*'); do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
printf 'root:x:0:0:root:/root:/usr/sbin/nologin\nnode:x:1000:1000::/home/node:/usr/sbin/nologin\n' >"$root/etc/passwd"
printf 'root:x:0:\nnode:x:1000:\n' >"$root/etc/group"
printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
chmod 1777 "$root/tmp"
chown 1000:1000 "$root/home/node"
tar -C "$root" -c . | docker import \
  --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
  --change 'CMD ["node"]' \
  - "$tag" >/dev/null
echo "made $tag from $node ($(node --version))"
