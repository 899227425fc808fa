#!/bin/sh
# edgeopt vs the official TFLite 2.9 runtime (tflite-ref, XNNPACK on), measured side by side:
# for each model and thread count, ROUNDS alternating invocations of `edgeopt bench` and
# `tflite-ref bench` (RUNS timed runs each after warm-up); the reported latency is the median of
# the per-invocation medians, the ratio edgeopt / tflite; the last two columns are the medians
# of each runtime's init time (load the model, prepare, plan; XNNPACK's delegation included).
# Then build/conv_bench (kernel vs FMA peak). `make bench` runs this.
#
#   sh scripts/bench.sh [MODEL.tflite ...]      (default: the models of the perf issue)
#   sh scripts/bench.sh --corpus                 (every .tflite in the corpus; `make bench-corpus`)
#   ROUNDS=5 RUNS=100 WARMUP=50 THREADS="1 2" XNNPACK=on CONV_BENCH=0 sh scripts/bench.sh
# A model that either runtime cannot run gets "-" and the ratio "n/a". CONV_BENCH=0 leaves out
# the convolution summary.
# The warm-up is long so that both runtimes are measured in their steady state (the caches, the
# branch predictors and the clock of the second core settle over the first invocations).
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
shared=${EDGEOPT_SHARED:-$here/../shared}
edgeopt=${EDGEOPT:-$here/build/edgeopt}
tflite=${TFLITE_REF:-$shared/tools/tflite-ref/tflite-ref}
corpus=$shared/corpus
ROUNDS=${ROUNDS:-3}
RUNS=${RUNS:-100}
WARMUP=${WARMUP:-50}
THREADS=${THREADS:-"1 2"}
XNNPACK=${XNNPACK:-on}

if [ "${1:-}" = "--corpus" ]; then
  set -- $(find "$corpus" -name '*.tflite' | sort)
elif [ $# -eq 0 ]; then
  set -- "$corpus/zoo/tf2_mobilenet_v2_1.0_224_ptq.tflite" \
    "$corpus/zoo/mobilenet_v2_1.0_224_quant.tflite" \
    "$corpus/coral-test_data/mobilenet_v1_0.25_128_quant.tflite" \
    "$corpus/zoo/mobilenet_v2_035_96_embedder_with_metadata.tflite" \
    "$corpus/mlcommons-tiny/pretrainedResnet.tflite" \
    "$corpus/mlcommons-tiny/pretrainedResnet_quant.tflite"
fi

median() { sort -g | awk '{v[NR] = $1} END {if (NR == 0) exit; if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p" | tail -1; }

echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(uname -m), $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# rounds=$ROUNDS runs=$RUNS warmup=$WARMUP per invocation; tflite-ref --xnnpack $XNNPACK; latency = median of medians (us)"
printf '%-60s %7s %12s %12s %7s %14s %14s\n' model threads edgeopt_us tflite_us ratio \
  edgeopt_init_us tflite_init_us
for model in "$@"; do
  name=${model#"$corpus"/}  # corpus models by their path in it (two are model.tflite)
  for t in $THREADS; do
    e_file=$(mktemp) && r_file=$(mktemp) && ei_file=$(mktemp) && ri_file=$(mktemp)
    round=0
    while [ $round -lt "$ROUNDS" ]; do
      out=$("$edgeopt" bench "$model" --threads "$t" --runs "$RUNS" --warmup "$WARMUP" 2>/dev/null ||
        true)
      echo "$out" | field median_us >>"$e_file"
      echo "$out" | field init_us >>"$ei_file"
      out=$("$tflite" bench "$model" --threads "$t" --runs "$RUNS" --warmup "$WARMUP" \
        --xnnpack "$XNNPACK" 2>/dev/null || true)
      echo "$out" | field median_us >>"$r_file"
      echo "$out" | field init_us >>"$ri_file"
      round=$((round + 1))
    done
    e=$(median <"$e_file")
    r=$(median <"$r_file")
    ei=$(median <"$ei_file")
    ri=$(median <"$ri_file")
    rm -f "$e_file" "$r_file" "$ei_file" "$ri_file"
    if [ -z "$e" ] || [ -z "$r" ]; then
      printf '%-60s %7s %12s %12s %7s %14s %14s\n' "$name" "$t" "${e:--}" "${r:--}" n/a \
        "${ei:--}" "${ri:--}"
      continue
    fi
    printf '%-60s %7s %12.1f %12.1f %7.3f %14.0f %14.0f\n' "$name" "$t" "$e" "$r" \
      "$(awk -v e="$e" -v r="$r" 'BEGIN {print e / r}')" "$ei" "$ri"
  done
done

if [ "${CONV_BENCH:-1}" != 0 ] && [ -x "$here/build/conv_bench" ]; then
  echo
  "$here/build/conv_bench" --benchmark_filter=none 2>/dev/null | sed -n '/summary/,$p'
fi
