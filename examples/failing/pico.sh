#!/usr/bin/env bash
# A pici job that fails: its test step finds a bug and exits 3, so zmx wait, this script and
# the job all fail with 3. `bash pico.sh test` is the test step itself.
set -euo pipefail

# Off by one, on purpose.
add() { echo $(($1 + $2 + 1)); }

if [[ ${1-} == test ]]; then
  got=$(add 2 2)
  if [[ $got != 4 ]]; then
    echo "add 2 2: want 4, got $got"
    exit 3
  fi
  echo "1 test passed"
  exit 0
fi

export ZMX_SESSION_PREFIX="${ZMX_SESSION_PREFIX:-local.failing.}"

zmx run lint -d bash -n pico.sh
zmx run test -d bash pico.sh test

zmx wait "*"

printf "\x1b[32msuccess!\x1b[0m\n"
