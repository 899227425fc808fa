#!/bin/sh
# A selective runtime: edgeopt_run_min built with only the builtin ops MODEL uses (their list
# comes from `edgeopt inspect --ops`; the other kernels are discarded at compile time and drop
# out at link time), then checked: it runs MODEL as the official runtime does (conformance) and
# refuses a model with an op it left out, by name. Prints the stripped sizes of the full and the
# selective runner.
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

ops=$(build/edgeopt inspect --ops "$model")
echo "runtime-for $(basename "$model"): ops $ops"
cmake -S . -B "$out" -DCMAKE_BUILD_TYPE=Release -DEDGEOPT_BUILD_IMPORTERS=OFF \
  -DEDGEOPT_BUILD_CLI=OFF -DEDGEOPT_BUILD_TESTS=OFF -DEDGEOPT_BUILD_BENCH=OFF \
  -DEDGEOPT_OPS="$ops" >/dev/null
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
  sh "$shared/tools/conformance/conformance" "$out/edgeopt_run_min" "$model" --seeds 1 |
    tail -n 1 || rc=1
fi
# An op the build left out is refused with its name, not a crash.
probe=$shared/corpus/tflite-micro/hello_world_int8.tflite
if [ -f "$probe" ] && ! echo ";$ops;" | grep -q ';FULLY_CONNECTED;'; then
  if "$out/edgeopt_run_min" "$probe" --random 0 -o "$tmp/probe" >"$tmp/probe.log" 2>&1; then
    echo "FAIL: the selective runner ran a model with an op it does not have" >&2
    rc=1
  elif grep -q FULLY_CONNECTED "$tmp/probe.log"; then
    echo "left-out op refused: $(head -n 1 "$tmp/probe.log")"
  else
    echo "FAIL: the refusal does not name the op: $(cat "$tmp/probe.log")" >&2
    rc=1
  fi
fi
exit $rc
