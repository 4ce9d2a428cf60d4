#!/usr/bin/env bash
# make demo: runs examples/hello end to end — pici-run --wait, then one monitor pass — and
# shows where the pages are and the status line that was published. It runs in a zmx world of
# its own (a fresh ZMX_DIR, removed at the end with every session in it), so it neither sees
# nor publishes nor leaves running the sessions of anyone's own zmx.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export PATH="${PICI_BIN:-$root/.build/release}:$root/bin:$PATH"
unset ZMX_SESSION ZMX_SESSION_PREFIX PICI_ZMX PICI_ARTIFACT_DIR

if command -v zmx >/dev/null 2>&1; then
  echo "demo: using the real zmx at $(command -v zmx)"
else
  export PATH="$root/Tests/Support/bin:$PATH"
  echo "demo: zmx is not installed here, so this uses the stand-in from Tests/Support/bin."
  echo "      To use the real one, install zmx (https://github.com/neurosnap/zmx) on PATH."
fi
ZMX_DIR=$(mktemp -d "${TMPDIR:-/tmp}/pici-demo-zmx.XXXXXX")
export ZMX_DIR
cleanup() {
  zmx kill '*' >/dev/null 2>&1 || true
  rm -rf "$ZMX_DIR"
}
trap cleanup EXIT

art=${PICI_DEMO_DIR:-$root/demo-artifacts}
dest="$art-published"
rm -rf "$art" "$dest"
mkdir -p "$dest"
event=$(printf '{"type":"push","name":"demo","workspace":"%s/examples/hello","branch":"main","commit":"demo","artifact_dest":"%s"}' "$root" "$dest")

# A monitor has watched the dir before a job comes, as in real use (else pici-run warns that
# no monitor watches it).
pici-monitor --once --artifact-dir "$art"

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
