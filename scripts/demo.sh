#!/usr/bin/env bash
# make demo: runs examples/hello end to end — pici-run --wait, then one monitor pass — and
# shows where the pages are and the status line that was published.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export PATH="$root/.build/release:$root/bin:$PATH"

if command -v zmx >/dev/null 2>&1; then
  echo "demo: using the real zmx at $(command -v zmx)"
else
  export PATH="$root/Tests/Support/bin:$PATH"
  ZMX_DIR=$(mktemp -d "${TMPDIR:-/tmp}/pici-demo-zmx.XXXXXX")
  export ZMX_DIR
  echo "demo: zmx is not installed here, so this uses the stand-in from Tests/Support/bin."
  echo "      To use the real one, install zmx (https://github.com/neurosnap/zmx) on PATH."
fi

art=${PICI_DEMO_DIR:-$root/demo-artifacts}
dest="$art-published"
rm -rf "$art" "$dest"
mkdir -p "$dest"
event=$(printf '{"type":"push","name":"demo","workspace":"%s/examples/hello","branch":"main","commit":"demo","artifact_dest":"%s"}' "$root" "$dest")

echo
echo "\$ pici-run --wait --artifact-dir $art"
pici-run --wait --artifact-dir "$art" --event "$event"

echo
echo "\$ pici-monitor --once --artifact-dir $art"
status=$(pici-monitor --once --artifact-dir "$art")
printf '%s\n' "$status"

echo
echo "demo: pages:       $art/index.html"
echo "demo: synced copy: $dest/"
