#!/usr/bin/env bash
# Fuzzes the parsers that read untrusted bytes with libFuzzer, AddressSanitizer and
# LeakSanitizer: checkpoints (CheckpointFile.read's dispatch, in memory) and images
# (ImageDecoder.probe/decode). The targets are the package in Fuzz/.
#
#   bash scripts/fuzz.sh [--ci] [SECONDS]
#
# Each target first replays its committed seeds (Fuzz/corpus/<target>/: small fixtures and
# every input that ever broke a parser), then fuzzes for SECONDS.
#   --ci  a short run (SECONDS defaults to 30 per target) into a throwaway corpus; any crash,
#         leak, hang or out-of-memory fails the script.
#   else  a long run (SECONDS defaults to 600 per target) that keeps the corpus it grows in
#         Fuzz/.build/fuzz/corpus/<target>/ across runs, then prints executions and coverage.
# A finding is written to Fuzz/.build/fuzz/findings/<target>/ (crash-*, leak-*, timeout-*, oom-*);
# reproduce it with `Fuzz/.build/release/<target> FILE`, and once fixed, add it to the target's
# seeds and to Tests/CheckpointsTests/Fixtures/regressions/ (checkpoints).
set -euo pipefail
cd "$(dirname "$0")/.."

ci=0
if [ "${1:-}" = "--ci" ]; then ci=1; shift; fi
seconds="${1:-$([ "$ci" = 1 ] && echo 30 || echo 600)}"
case "$seconds" in ''|*[!0-9]*) echo "usage: bash scripts/fuzz.sh [--ci] [SECONDS]" >&2; exit 64 ;; esac

bash scripts/setup.sh
export PKG_CONFIG_PATH="${GRAFT_CACHE:-$HOME/.cache/graft}/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"

start=$SECONDS
echo "graft fuzz: building Fuzz/ (release, libFuzzer + AddressSanitizer)"
# swiftc keeps only its last -sanitize= flag, and swift build (6.3) passes one per sanitizer in
# a random order, so the Swift code would get either coverage counters or AddressSanitizer.
# The combined -Xswiftc flag comes last and gives both; the check below makes sure.
(cd Fuzz && swift build -c release --sanitize=fuzzer --sanitize=address \
  -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library)
bin=Fuzz/.build/release
for module in Checkpoints ImageCodecs CImageShim fuzz_checkpoints fuzz_images; do
  symbols="$(nm "$bin/$module.build/"*.o)"
  if ! grep -q __sanitizer_cov <<<"$symbols" || ! grep -q __asan_report <<<"$symbols"; then
    echo "graft fuzz: error: $module is not instrumented for both coverage and AddressSanitizer;" \
      "remove Fuzz/.build and run again" >&2
    exit 1
  fi
done
work=Fuzz/.build/fuzz
if [ "$ci" = 1 ]; then
  scratch="$(mktemp -d)"
  trap 'rm -rf "$scratch"' EXIT
else
  scratch="$work/corpus"
fi

# Larger seeds (the 100,000-deep pickles) are replayed whole; mutants stay under this size,
# which keeps executions fast.
max_len=65536
status=0
summary=()
for target in checkpoints images; do
  fuzzer="$bin/fuzz-$target"
  seeds="Fuzz/corpus/$target"
  corpus="$scratch/$target"
  findings="$work/findings/$target"
  mkdir -p "$corpus" "$findings"
  log="$work/fuzz-$target.log"
  common=(-rss_limit_mb=2048 -timeout=20 -artifact_prefix="$findings/" -print_final_stats=1)

  echo "graft fuzz: $target: replaying $(ls "$seeds" | wc -l) seeds"
  if ! "$fuzzer" "${common[@]}" -runs=0 "$seeds" >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "graft fuzz: $target: a seed fails (findings in $findings/, log $log)" >&2
    status=1
    continue
  fi
  if ! grep -qE '^#[0-9]+.*INITED.* cov: [0-9]+' "$log"; then
    echo "graft fuzz: $target: libFuzzer sees no coverage; remove Fuzz/.build and run again" >&2
    status=1
    continue
  fi

  echo "graft fuzz: $target: fuzzing for ${seconds}s"
  if ! "$fuzzer" "${common[@]}" -max_total_time="$seconds" -max_len=$max_len "$corpus" "$seeds" >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "graft fuzz: $target: FINDING in $findings/ (log $log)" >&2
    status=1
    continue
  fi
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")"
  rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")"
  added="$(sed -n 's/^stat::new_units_added: *//p' "$log")"
  rss="$(sed -n 's/^stat::peak_rss_mb: *//p' "$log")"
  coverage="$(grep -E '^#[0-9]+' "$log" | tail -n 1 | grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [^ ]+' || true)"
  summary+=("$target: $runs executions ($rate/s), $coverage, $added new inputs, peak RSS ${rss} MB")
done

echo "graft fuzz: done in $((SECONDS - start))s"
for line in "${summary[@]}"; do echo "graft fuzz: $line"; done
[ "$ci" = 1 ] || echo "graft fuzz: the grown corpus is in $scratch/ (not committed; add new seeds by hand)"
exit $status
