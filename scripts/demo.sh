#!/bin/sh
# make demo: the main job on the built-in default data. Until the whole pipeline exists, it is:
# every .tflite in ../shared/corpus inspected, run by edgeopt and by the official TFLite runtime
# on the same seeded inputs, and timed by both; one table at the end.
set -u
cd "$(dirname "$0")/.."
E=build/edgeopt
SHARED=${EDGEOPT_SHARED:-../shared}
REF="$SHARED/tools/tflite-ref/tflite-ref"
OUT=${DEMO_OUT:-demo-out}
mkdir -p "$OUT"
sh "$REF" version >/dev/null 2>&1 || { echo "demo: cannot set up tflite-ref" >&2; exit 1; }

printf '\n== edgeopt vs the official TensorFlow Lite 2.9 runtime on the shared corpus ==\n\n'
printf '%-52s %5s %9s  %-6s %11s %11s %6s\n' model nodes bytes result "edgeopt_us" "tflite_us" ratio
find "$SHARED/corpus" -name '*.tflite' | sort | while read -r m; do
  name=$(echo "$m" | sed "s|$SHARED/corpus/||")
  bytes=$(wc -c <"$m")
  nodes=$($E inspect "$m" --no-tensors 2>/dev/null | sed -n 's/^ops: \([0-9]*\) nodes.*/\1/p')
  rm -rf "$OUT/ref" "$OUT/ours"
  if ! sh "$REF" run "$m" --random 0 -o "$OUT/ref" >/dev/null 2>&1; then
    printf '%-52s %5s %9s  %-6s %11s %11s %6s\n' "$name" "${nodes:--}" "$bytes" "skip" - - -
    continue
  fi
  result=pass
  if ! $E run "$m" --random 0 -o "$OUT/ours" >/dev/null 2>&1; then
    result=FAIL
  else
    for r in "$OUT"/ref/output_*.npy; do
      o="$OUT/ours/$(basename "$r")"
      sh "$REF" compare "$o" "$r" --atol 1e-5 --rtol 1e-4 --max-lsb 1 >/dev/null 2>&1 || result=FAIL
    done
  fi
  ours=$($E bench "$m" --runs 20 --warmup 3 --threads 1 2>/dev/null | sed -n 's/^median_us=\([0-9.]*\).*/\1/p')
  theirs=$(sh "$REF" bench "$m" --runs 20 --warmup 3 --threads 1 --xnnpack on 2>/dev/null |
    sed -n 's/^median_us=\([0-9.]*\).*/\1/p')
  ratio=-
  if [ -n "$ours" ] && [ -n "$theirs" ]; then ratio=$(awk "BEGIN{printf \"%.2f\", $ours/$theirs}"); fi
  printf '%-52s %5s %9s  %-6s %11s %11s %6s\n' "$name" "${nodes:--}" "$bytes" "$result" \
    "${ours:--}" "${theirs:--}" "$ratio"
done
printf '\nresult: outputs equal to TFLite within atol 1e-5 + rtol 1e-4 (float) or 1 LSB (integer);\n'
printf 'skip: the official runtime cannot run the model (custom ops, too-new op versions).\n'
printf 'latency: median of 20 runs, 1 thread; TFLite with its XNNPACK delegate.\n'
