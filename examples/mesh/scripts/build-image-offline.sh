#!/usr/bin/env bash
# Builds the mesh image (tag: callsign-mesh) on a machine where `docker build` cannot reach a
# registry: the Dockerfile's build stage runs here instead (pnpm build, the mesh's build,
# `pnpm deploy --prod`), and the Dockerfile's own runtime stage copies the result in, over a base
# image made from this machine's node when there is none (local-base-image.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
dockerfile="$here/../Dockerfile"

base=$(awk '/^FROM /{last=$2} END{print last}' "$dockerfile")
"$here/local-base-image.sh" "$base"

context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
cd "$repo"
pnpm build >/dev/null 2>&1
pnpm --filter @callsign/example-mesh run build >/dev/null 2>&1
pnpm --filter @callsign/example-mesh deploy --prod "$context/app" >/dev/null
mkdir "$context/audit"
# The runtime stage (from the last FROM on), copying from this context instead of the build stage.
awk '/^FROM /{stage=""} {stage=stage $0 "\n"} END{printf "%s", stage}' "$dockerfile" |
  sed -E 's#--from=build (.*)/out/#\1#' >"$context/Dockerfile"
docker build -t callsign-mesh "$context" >"$context/build.log" 2>&1 || { cat "$context/build.log"; exit 1; }
echo "built callsign-mesh (runtime stage of examples/mesh/Dockerfile, on $base)"
