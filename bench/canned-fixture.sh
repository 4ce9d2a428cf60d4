# bench/canned-fixture.sh: the canned zmx's fixture, sourced by bench/monitor and
# bench/versus-seed. Needs $root (the project), $feed_lines (BENCH_FEED) and the canned zmx
# (bench/canned-zmx.c) first on PATH.
# shellcheck shell=bash
: "${root:?}" "${feed_lines:?}"

now_ns() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# fixture N DIR PCT: canned zmx of N sessions (N/4 jobs); in PCT% of the jobs the runner and
# two steps still run (three running sessions a job), the rest ended.
fixture() {
  local dir=$2
  mkdir -p "$dir"
  listing "$1" "$3" >"$dir/canned-list"
  for ((j = 0; j < 500; j++)); do printf 'line %d: compiling module_%d.swift <ok> & "done"\n' "$j" "$j"; done >"$dir/canned-history.base"
  : >"$dir/canned-feed"
  scrollback "$dir" html
  echo 500 >"$dir/fed"
  rm -f "$dir/calls.log"
}

# scrollback ZMXDIR [html]: the canned history is what a session's scrollback holds: the last
# ~750 rows of the history before the bench began and what it printed since (canned-feed), so
# that followers find the lines they streamed in it, as with a real zmx. With html, also its
# `--html` (as the stand-in zmx renders it; a bash start, so not inside the trickle).
scrollback() {
  cat "$1/canned-history.base" "$1/canned-feed" | tail -n 750 >"$1/canned-history.new"
  mv "$1/canned-history.new" "$1/canned-history"
  [ -z "${2-}" ] || {
    ZMX_DIR=$1 ZMX_CALL_LOG=/dev/null "$root/Tests/Support/bin/zmx" history x --html >"$1/canned-history.html.new"
    mv "$1/canned-history.html.new" "$1/canned-history.html"
  }
}

# listing N PCT: the canned `zmx list` (see fixture).
listing() {
  local pct=$2 jobs_n=$(( $1 / 4 )) j t id state s running
  t=$(( $(date +%s) - 7200 ))
  running=$(( (jobs_n * pct + 50) / 100 ))
  {
    for ((j = 0; j < jobs_n; j++)); do
      printf -v id '%08x' "$j"
      for s in runner step.build step.lint step.test; do
        state=$'\tended='"$((t + 60))"$'\texit_code=0'
        (( j < running )) && [[ $s != step.test ]] && state=""
        printf '  name=ci.bench%d.%s.%s\tpid=%d\tclients=0\tcreated=%d\tcwd=/bench/tmp%s\n' \
          $((j % 50)) "$id" "$s" $((1000 + j)) "$t" "$state"
      done
    done
  } | LC_ALL=C sort
}

# feed ZMXDIR: every running session prints BENCH_FEED more lines (each canned `zmx tail`
# streams them to its follower), as a build does between two passes; then a moment for the
# followers to write them down.
feed() {
  local j fed
  read -r fed <"$1/fed"
  for ((j = fed; j < fed + feed_lines; j++)); do printf 'line %d: compiling module_%d.swift <ok> & "done"\n' "$j" "$j"; done >>"$1/canned-feed"
  echo "$j" >"$1/fed"
  scrollback "$1" html
  # A follower writes held lines down half a second after output stops (FollowCapture.quiet).
  sleep 1.5
}

# calls ZMXDIR: "PASS FOLLOWERS", the zmx calls logged so far by the passes' filters and by
# the followers (the canned zmx marks a follower's call).
calls() {
  if [ -f "$1/calls.log" ]; then awk '/^follower / {f++; next} {p++} END {print p + 0, f + 0}' "$1/calls.log"; else echo 0 0; fi
}

