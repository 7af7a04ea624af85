#!/usr/bin/env bash
# Makes sure the MinIO server binary that the tests use exists, building it from
# the Go module proxy the first time (about 5 minutes on 2 cores) and caching it.
# Prints the binary's path.
set -euo pipefail
version=v0.0.0-20260212201848-7aac2a2c5b7c
bin_dir=${TILESYNCD_CACHE:-$HOME/.cache/tilesyncd}/bin
bin=$bin_dir/minio
stamp=$bin_dir/minio.version
if [ -x "$bin" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$version" ]; then
  echo "$bin"
  exit 0
fi
mkdir -p "$bin_dir"
echo "building MinIO $version into $bin_dir (first run only, several minutes)…" >&2
GOBIN=$bin_dir GOFLAGS=-buildvcs=false go install "github.com/minio/minio@$version" >&2
[ -x "$bin" ] || { echo "minio.sh: build finished but $bin is missing" >&2; exit 1; }
echo "$version" > "$stamp"
echo "$bin"
