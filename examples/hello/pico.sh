#!/usr/bin/env bash
# A pici job with two steps, each its own zmx session: lint (a syntax check of this script)
# and test (the greeting below). `bash pico.sh test` is the test step itself.
set -euo pipefail

greet() { printf 'hello, %s\n' "${1:-world}"; }

if [[ ${1-} == test ]]; then
  [[ $(greet) == 'hello, world' ]] || { echo "greet: want 'hello, world', got '$(greet)'"; exit 1; }
  [[ $(greet pici) == 'hello, pici' ]] || { echo "greet pici: want 'hello, pici', got '$(greet pici)'"; exit 1; }
  echo "2 tests passed"
  exit 0
fi

# pici-run sets the prefix to ci.<repo>.<job_id>.step.; run by hand, keep the steps apart
# from every CI job's (a bare "ci." would make zmx wait "*" wait on all of them).
export ZMX_SESSION_PREFIX="${ZMX_SESSION_PREFIX:-local.hello.}"
echo "job ${PICO_CI_JOB_ID:-local} of ${PICO_CI_REPO:-unknown} (${PICO_CI_EVENT_TYPE:-manual})"

zmx run lint -d bash -n pico.sh
zmx run test -d bash pico.sh test

# Wait for both steps; zmx wait exits with a failed step's code.
zmx wait "*"

printf "\x1b[32msuccess!\x1b[0m\n"
