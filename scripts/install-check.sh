#!/usr/bin/env bash
# make install-check: install into a scratch prefix, check every file is there and runs (and
# the binaries are stripped), then uninstall and check that exactly those files went.
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=$(mktemp -d "${TMPDIR:-/tmp}/pici-install.XXXXXX")
trap 'rm -rf "$prefix"' EXIT
make -s install PREFIX="$prefix" >/dev/null
fail=0
for t in pici-list pici-group pici-stage pici-publish pici-run pici-status pici-monitor pici; do
  if ! out=$("$prefix/bin/$t" --version 2>&1); then echo "install-check: $t --version failed: $out"; fail=1; fi
done
for t in pici-list pici-group pici-stage pici-publish pici-run pici-status; do
  if file "$prefix/bin/$t" 2>/dev/null | grep -q 'not stripped'; then echo "install-check: $t is not stripped"; fail=1; fi
done
for m in man1/pici.1 man1/pici-run.1 man1/pici-status.1 man1/pici-monitor.1 man5/pici-records.5 man7/pici.7; do
  [ -f "$prefix/share/man/$m" ] || { echo "install-check: no $m"; fail=1; }
done
installed=$(find "$prefix" -type f | wc -l)
make -s uninstall PREFIX="$prefix" >/dev/null
left=$(find "$prefix" -type f | wc -l)
[ "$left" = 0 ] || { echo "install-check: uninstall left $left files"; fail=1; }
echo "install-check: $installed files installed, $left left after uninstall"
[ "$fail" = 0 ]
