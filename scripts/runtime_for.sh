#!/bin/sh
# A selective runtime: edgeopt_run_min built with only what MODEL needs, then checked.
#  - ops: the builtin ops MODEL uses (`edgeopt inspect --ops`); the other kernels are discarded
#    at compile time and drop out at link time;
#  - kernel types: per op, the arithmetic MODEL uses (`edgeopt inspect --types`: int8 CONV_2D,
#    uint8 -> int8 QUANTIZE, ...); float, hybrid, uint8 or int16 variants it does not use drop
#    out too (src/runtime/selective.h);
#  - microkernels: those of one ISA family, EDGEOPT_ISA (default host: the family this machine's
#    CPU runs, the one the full build's run-time dispatch picks here; `all` keeps every family).
# Checks: the runner runs MODEL as the official runtime does (conformance), refuses a model with an
# op it left out and a model with a kernel type it left out, each by name; then prints the
# stripped sizes and the fastest invocation time of the full and the selective runner.
# Exits non-zero when a check fails.
#   scripts/runtime_for.sh MODEL.tflite [BUILD_DIR]     (make runtime-for MODEL=...)
set -eu
cd "$(dirname "$0")/.."

model=${1:-}
if [ -z "$model" ] || [ ! -f "$model" ]; then
  echo "usage: scripts/runtime_for.sh MODEL.tflite [BUILD_DIR] (no such file: '$model')" >&2
  exit 2
fi
out=${2:-build-select}
shared=${EDGEOPT_SHARED:-../shared}
isa=${EDGEOPT_ISA:-host}

ops=$(build/edgeopt inspect --ops "$model")
types=$(build/edgeopt inspect --types "$model")
echo "runtime-for $(basename "$model"): ops $ops"
echo "  kernel types $types; microkernels: $isa"
cmake -S . -B "$out" -DCMAKE_BUILD_TYPE=Release -DEDGEOPT_BUILD_IMPORTERS=OFF \
  -DEDGEOPT_BUILD_CLI=OFF -DEDGEOPT_BUILD_TESTS=OFF -DEDGEOPT_BUILD_BENCH=OFF \
  -DEDGEOPT_OPS="$ops" -DEDGEOPT_TYPES="$types" -DEDGEOPT_ISA="$isa" >/dev/null
cmake --build "$out" -j "$(nproc 2>/dev/null || echo 2)" --target edgeopt_run_min >/dev/null

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
strip -o "$tmp/full" build/edgeopt_run_min
strip -o "$tmp/select" "$out/edgeopt_run_min"
full=$(wc -c <"$tmp/full")
select=$(wc -c <"$tmp/select")
echo "stripped runner (x86-64): all kernels $full bytes ($((full / 1024)) KB);" \
  "only this model's $select bytes ($((select / 1024)) KB)"

rc=0
if [ -f "$shared/tools/conformance/conformance" ]; then
  if sh "$shared/tools/conformance/conformance" "$out/edgeopt_run_min" "$model" --seeds 1 \
    >"$tmp/conformance.log" 2>&1; then
    tail -n 1 "$tmp/conformance.log"
  else
    cat "$tmp/conformance.log" >&2
    echo "FAIL: conformance" >&2
    rc=1
  fi
else
  echo "note: no $shared/tools/conformance (set EDGEOPT_SHARED): conformance not checked" >&2
fi

# `probe MODEL WORD WHAT`: the selective runner must refuse MODEL (not crash) naming WORD.
probe() {
  if "$out/edgeopt_run_min" "$1" --random 0 -o "$tmp/probe" >"$tmp/probe.log" 2>&1; then
    echo "FAIL: the selective runner ran a model with a $3 it does not have" >&2
    rc=1
  elif grep -q "$2" "$tmp/probe.log"; then
    echo "left-out $3 refused: $(head -n 1 "$tmp/probe.log")"
  else
    echo "FAIL: the refusal does not name $2: $(cat "$tmp/probe.log")" >&2
    rc=1
  fi
}
# An op the build left out (FULLY_CONNECTED), a kernel type it left out (float32 ADD).
op_probe=$shared/corpus/tflite-micro/hello_world_int8.tflite
if [ -f "$op_probe" ] && ! echo ";$ops;" | grep -q ';FULLY_CONNECTED;'; then
  probe "$op_probe" FULLY_CONNECTED op
fi
if echo ";$ops;" | grep -q ';ADD;' &&
  ! echo ";$types;" | grep -q -e ';float32;' -e ';ADD:float32;'; then
  probe tests/models/float32_add.tflite "ADD: float32" "kernel type"
fi

# Speed: the fastest of 20 invocations, one thread, full and selective runner.
for r in build/edgeopt_run_min "$out/edgeopt_run_min"; do
  echo "$r: $("$r" "$model" --random 0 --repeat 20 | grep '^invoke:')"
done
exit $rc
