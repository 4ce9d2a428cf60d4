#!/usr/bin/env bash
# make unit: the XCTest suite in parallel, then one closing line "N passed, M failed".
# The end-to-end tests spend most of their time waiting on zmx sessions, so four workers on
# two cores finish in about half the time of one.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
xml=.build/pici-tests.xml
rm -f "$xml"
swift build --build-tests || exit 1
swift test --skip-build --parallel --num-workers "${PICI_TEST_WORKERS:-4}" --disable-swift-testing --xunit-output "$xml" "$@"
status=$?
if [ ! -s "$xml" ]; then
  echo "test.sh: swift test wrote no results (exit $status)" >&2
  exit $(( status ? status : 1 ))
fi
read -r tests failures errors skipped < <(awk '
  /<testsuite / { for (i = 1; i <= NF; i++) { split($i, kv, "="); gsub(/"/, "", kv[2]); v[kv[1]] += kv[2] } }
  /<skipped/ { s++ }
  END { print v["tests"] + 0, v["failures"] + 0, v["errors"] + 0, s + 0 }' "$xml")
failed=$((failures + errors))
if [ "$failed" -gt 0 ]; then
  echo "failed tests:"
  grep -B1 -E '<failure|<error' "$xml" | sed -n 's/.*classname="\([^"]*\)" name="\([^"]*\)".*/  \1.\2/p'
fi
echo "$((tests - failed - skipped)) passed, $failed failed, $skipped skipped"
[ "$status" = 0 ] && [ "$failed" = 0 ]
