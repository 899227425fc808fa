#!/bin/sh
# The whole runtime built for size (every op and kernel type, every x86 microkernel family with
# run-time dispatch): edgeopt_run_min configured with EDGEOPT_SIZE=ON (what a selective build
# does, for all ops: -Os outside the hot kernels, the microkernels at -O2, link-time
# optimization, identical code folding). Prints its stripped size next to the default build's
# runner and against the 600 KB (600,000-byte) budget, checks it on the corpus (conformance)
# and times both runners on a few models (fastest of 200 invocations, one thread). Exits
# non-zero when the size is over budget or a check fails.
#   scripts/runtime_size.sh [BUILD_DIR]     (make runtime-size)
set -eu
cd "$(dirname "$0")/.."

out=${1:-build-size}
shared=${EDGEOPT_SHARED:-../shared}
# 600 KB until the runtime read TFLM's LUT-compressed models (COMPRESSION_METADATA, +1.5 KB of
# code, one more 4 KB page of the file).
# 605 KB until TRANSPOSE_CONV ran on the IGEMM and s16 GEMM microkernels and RESIZE_BILINEAR
# separably on the threads (+2.9 KB of code, one more 4 KB page: 602,480 -> 606,576 bytes).
# 614,400 (600 KiB: the runtime issue's "at most 600 KB", read in the KiB this script prints)
# from a float pointwise kernel for 1-4 output channels and the activation fusion after
# TRANSPOSE_CONV (+3.2 KB of code, one more page: 606,576 -> 610,680) until Status became one
# pointer (-12 KB of inlined string code: 598,392). Now 600,000: "600 KB" in the strictest
# reading; a page that code adds past it must be made room for (int16 BATCH_MATMUL's was:
# 602,488 -> 598,304 bytes once the link-time code generation was not position-independent).
budget=${SIZE_BUDGET:-600000}

cmake -S . -B "$out" -DCMAKE_BUILD_TYPE=Release -DEDGEOPT_SIZE=ON -DEDGEOPT_BUILD_IMPORTERS=OFF \
  -DEDGEOPT_BUILD_CLI=OFF -DEDGEOPT_BUILD_TESTS=OFF -DEDGEOPT_BUILD_BENCH=OFF >/dev/null
cmake --build "$out" -j "$(nproc 2>/dev/null || echo 2)" --target edgeopt_run_min >/dev/null

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
strip -o "$tmp/size" "$out/edgeopt_run_min"
size=$(wc -c <"$tmp/size")
line="stripped runner (x86-64), every kernel, built for size: $size bytes ($((size / 1024)) KB)"
if [ -x build/edgeopt_run_min ]; then
  strip -o "$tmp/default" build/edgeopt_run_min
  line="$line; the default build's: $(wc -c <"$tmp/default") bytes"
fi
echo "$line"

rc=0
if [ "$size" -gt "$budget" ]; then
  echo "FAIL: $size bytes is over the budget of $budget" >&2
  rc=1
fi
if [ -f "$shared/tools/conformance/conformance" ]; then
  if sh "$shared/tools/conformance/conformance" "$out/edgeopt_run_min" "$shared/corpus" --seeds 1 \
    >"$tmp/conformance.log" 2>&1; then
    tail -n 1 "$tmp/conformance.log"
  else
    tail -n 5 "$tmp/conformance.log" >&2
    echo "FAIL: conformance of the size build" >&2
    rc=1
  fi
fi

# Invoke times: the size build against the default one.
fastest() { "$1" "$2" --random 0 --repeat 200 2>/dev/null | sed -n 's/invoke: \([0-9.]*\) ms.*/\1/p'; }
for m in zoo/tf2_mobilenet_v2_1.0_224_ptq mlcommons-tiny/pretrainedResnet \
  mlcommons-tiny/kws_ref_model zoo/dtln_noise_suppression; do
  f="$shared/corpus/$m.tflite"
  [ -f "$f" ] || continue
  d="-"
  [ -x build/edgeopt_run_min ] && d=$(fastest build/edgeopt_run_min "$f")
  echo "  $(basename "$m"): $(fastest "$out/edgeopt_run_min" "$f") ms built for size, $d ms default"
done
exit $rc
