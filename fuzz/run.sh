#!/usr/bin/env bash
# Runs the fuzz targets with AFL++ (cargo-afl, stable toolchain).
#   fuzz/run.sh smoke SECONDS            each target for SECONDS (CI: a few seconds)
#   fuzz/run.sh campaign EXECUTIONS [T]  each target (or only T) until EXECUTIONS executions
# Prints one line per target (executions, crashes, hangs) and exits 1 if any target crashed
# or hung. Findings stay in fuzz/out/<target>/default/{crashes,hangs}.
set -euo pipefail
cd "$(dirname "$0")"
mode=${1:?smoke SECONDS | campaign EXECUTIONS [TARGET]}
amount=${2:?how long}
targets=(zmtp_decoder zmtp_session datagram typed_decode graph_file cli_line resp)
[ -n "${3:-}" ] && targets=("$3")
command -v cargo-afl >/dev/null || cargo install cargo-afl --locked
# AFL++ itself is built once per toolchain (cargo install usually does it already)
ls "${XDG_DATA_HOME:-$HOME/.local/share}"/afl.rs/rustc-*/*/afl/bin/afl-fuzz >/dev/null 2>&1 || cargo afl config --build
cargo afl build --release --quiet
# no CPU pinning: another fuzzer (or a paused one) on the machine must not fail the run
export AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 AFL_QUIET=1 AFL_NO_AFFINITY=1
# a graph file or a huge message may allocate: 1 GiB is our out-of-memory line
limit=(-m 1024 -t 1000)
failed=0
for t in "${targets[@]}"; do
  rm -rf "out/$t"; mkdir -p out
  case $mode in
    smoke) stop=(-V "$amount") ;;
    campaign) stop=(-E "$amount") ;;
    *) echo "unknown mode $mode" >&2; exit 2 ;;
  esac
  cargo afl fuzz "${limit[@]}" "${stop[@]}" -i "seeds/$t" -o "out/$t" "target/release/$t" >"out-$t.log" 2>&1 || true
  stats="out/$t/default/fuzzer_stats"
  if [ ! -f "$stats" ]; then
    echo "$t: afl-fuzz did not run:"; tail -20 "out-$t.log"; failed=1; continue
  fi
  get() { awk -F' *: *' -v k="$1" '$1==k {print $2}' "$stats"; }
  execs=$(get execs_done); crashes=$(get saved_crashes); hangs=$(get saved_hangs)
  echo "$t: $execs executions, $(get execs_per_sec) per second, $(get corpus_count) inputs in the corpus, $crashes crashes, $hangs hangs"
  if [ "$crashes" != 0 ] || [ "$hangs" != 0 ]; then failed=1; fi
done
exit $failed
