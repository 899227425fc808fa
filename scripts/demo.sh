#!/bin/sh
# make demo: the main job on the built-in default data (Fashion-MNIST, Debian package
# dataset-fashion-mnist). Trains the reference CNN with edgeopt's own engine, converts it to
# TensorFlow Lite, makes every variant the toolkit offers, and ends with one comparison table
# (size, zipped size, accuracy, latency) and a plot. Outputs go to demo-out/.
set -eu
cd "$(dirname "$0")/.."
E=build/edgeopt
SHARED=${EDGEOPT_SHARED:-../shared}
OUT=${DEMO_OUT:-demo-out}
EPOCHS=${DEMO_EPOCHS:-3}
mkdir -p "$OUT"
start=$(date +%s)
step() { printf '\n== %s ==\n' "$*"; }

step "1. Train the reference CNN (fmnist-cnn, $EPOCHS epochs, Adam 1e-3, batch 64)"
$E train --preset fmnist-cnn --data fashion-mnist --epochs "$EPOCHS" --seed 0 -o "$OUT/baseline.keras" \
  --history "$OUT/baseline_history.csv" --history-plot "$OUT/baseline_history.png"

step "2. Convert to TensorFlow Lite"
$E convert "$OUT/baseline.keras" -o "$OUT/baseline.tflite"
$E inspect "$OUT/baseline.tflite" --no-tensors | sed -n '/^parameters/,$p'

step "3. Post-training quantization (calibration: 500 training images)"
$E quantize "$OUT/baseline.keras" -o "$OUT/float16.tflite" --mode float16 --quiet
$E quantize "$OUT/baseline.keras" -o "$OUT/dynamic.tflite" --mode dynamic --quiet
$E quantize "$OUT/baseline.keras" -o "$OUT/int8.tflite" --mode int8 \
  --calibration fashion-mnist:train --report "$OUT/int8_report.md" --eval fashion-mnist:test --quiet
$E quantize "$OUT/baseline.keras" -o "$OUT/int16x8.tflite" --mode int16x8 \
  --calibration fashion-mnist:train --quiet
echo "per-layer error report: $OUT/int8_report.md (worst layers first):"
sed -n '/^| # /,/^| 3 /p' "$OUT/int8_report.md"

step "4. Pruning, 2 epochs of fine-tuning each: 80% of the weights (TFMOT polynomial schedule), 50% of the channels"
$E prune "$OUT/baseline.keras" --data fashion-mnist --sparsity 0.8 --schedule polynomial \
  --epochs 2 --seed 0 --quiet -o "$OUT/pruned80.keras" > "$OUT/pruned80.log"
sed -n '/^layer /,/^accuracy/p' "$OUT/pruned80.log"
$E convert "$OUT/pruned80.keras" -o "$OUT/pruned80.tflite" --sparse > "$OUT/pruned80_convert.log"
sed -n '/sparse encoding/,$p' "$OUT/pruned80_convert.log"
$E quantize "$OUT/pruned80.keras" -o "$OUT/pruned80_int8.tflite" --mode int8 \
  --calibration fashion-mnist:train --sparse --quiet
$E inspect "$OUT/pruned80_int8.tflite" --no-tensors > "$OUT/pruned80_int8_inspect.log"
sed -n '/^weight sparsity/,/all layers/p' "$OUT/pruned80_int8_inspect.log"
$E prune "$OUT/baseline.keras" --data fashion-mnist --structure channel --sparsity 0.5 \
  --epochs 2 --seed 0 --quiet -o "$OUT/channel50.keras" > "$OUT/channel50.log"
sed -n '/^layer /,/^accuracy/p' "$OUT/channel50.log"
$E convert "$OUT/channel50.keras" -o "$OUT/channel50.tflite" > /dev/null

step "5. Weight clustering (16 distinct values per layer, 1 epoch of fine-tuning), and one recipe: prune 80% -> cluster 16 -> QAT int8"
# The files keep float (or int8) weights, so their size shows after zip (the "zipped" column);
# int8 of a clustered model keeps at most 16 values per channel. The recipe
# (recipes/prune80_cluster16_qat.json) runs the three commands as one pipeline, each stage
# keeping the last one's work: the pruned zeros and the 16 values end in the int8 file.
$E cluster "$OUT/baseline.keras" --data fashion-mnist --clusters 16 --epochs 1 --seed 0 --quiet \
  -o "$OUT/clustered16.keras" > "$OUT/clustered16.log"
sed -n '/^layer /,/^accuracy/p' "$OUT/clustered16.log"
$E convert "$OUT/clustered16.keras" -o "$OUT/clustered16.tflite" > /dev/null
$E quantize "$OUT/clustered16.keras" -o "$OUT/clustered16_int8.tflite" --mode int8 \
  --calibration fashion-mnist:train --quiet
$E pipeline "$OUT/baseline.keras" --recipe recipes/prune80_cluster16_qat.json --seed 0 --quiet \
  --no-compare -o "$OUT/pruned80_clustered16_qat_int8.tflite" > "$OUT/pipeline.log"
grep -E '^(== stage|edgeopt |accuracy on|int8:)' "$OUT/pipeline.log"
$E inspect "$OUT/pruned80_clustered16_qat_int8.tflite" --no-tensors | \
  sed -n '/^weight sparsity/,/all layers/p'

step "6. Low-rank factorization (a quarter of the weights of each large layer, 1 epoch of fine-tuning), also after channel pruning"
# Each large Dense / Conv2D layer becomes two of rank r (a truncated SVD): the file is smaller
# and does fewer multiply-adds as it is, without zip; int8 of it multiplies both gains. On the
# 50%-channel-pruned model too (recipes/channel50_lowrank25_int8.json as separate commands).
# First each layer alone at 1/2 .. 1/16 of its weights, one-shot: which layers take a low rank.
$E lowrank "$OUT/baseline.keras" --sensitivity --data fashion-mnist --quiet \
  --plot "$OUT/lowrank_sensitivity.png" > "$OUT/lowrank_sensitivity.log"
sed -n '/^accuracy with one layer/,/^(on /p' "$OUT/lowrank_sensitivity.log"
$E lowrank "$OUT/baseline.keras" --data fashion-mnist --params 0.25 --epochs 1 --seed 0 --quiet \
  -o "$OUT/lowrank25.keras" > "$OUT/lowrank25.log"
sed -n '/^layer /,/^accuracy/p' "$OUT/lowrank25.log"
$E convert "$OUT/lowrank25.keras" -o "$OUT/lowrank25.tflite" > /dev/null
$E quantize "$OUT/lowrank25.keras" -o "$OUT/lowrank25_int8.tflite" --mode int8 \
  --calibration fashion-mnist:train --quiet
$E lowrank "$OUT/channel50.keras" --data fashion-mnist --params 0.25 --epochs 1 --seed 0 --quiet \
  -o "$OUT/channel50_lowrank25.keras" > "$OUT/channel50_lowrank25.log"
grep -E '^(model:|accuracy on)' "$OUT/channel50_lowrank25.log"
$E quantize "$OUT/channel50_lowrank25.keras" -o "$OUT/channel50_lowrank25_int8.tflite" \
  --mode int8 --calibration fashion-mnist:train --quiet

step "7. Quantization-aware training and distillation"
# QAT from the baseline and from the 80%-pruned model (1 epoch each, starting from the same
# calibration as int8 above; the pruned zeros stay zero), and a student with 1/16 of the
# baseline's weights distilled from it (float and post-training int8).
$E qat "$OUT/baseline.keras" --data fashion-mnist --epochs 1 --lr 1e-4 --quiet \
  -o "$OUT/qat_int8.tflite"
$E qat "$OUT/pruned80.keras" --data fashion-mnist --epochs 1 --lr 1e-4 --sparse --quiet \
  -o "$OUT/pruned80_qat_int8.tflite"
$E distill --teacher "$OUT/baseline.keras" --student-width 0.25 --data fashion-mnist \
  --epochs "$EPOCHS" --seed 0 --quiet -o "$OUT/student.tflite" >"$OUT/distill.log"
sed -n '/^model /,/^weights:/p' "$OUT/distill.log"
$E quantize "$OUT/student.tflite" -o "$OUT/student_int8.tflite" --mode int8 \
  --calibration fashion-mnist:train --quiet

step "8. The variants side by side (Fashion-MNIST test set, 10,000 images; latency: 1 thread)"
$E compare "$OUT/baseline.tflite" "$OUT/float16.tflite" "$OUT/dynamic.tflite" \
  "$OUT/int8.tflite" "$OUT/int16x8.tflite" "$OUT/qat_int8.tflite" "$OUT/pruned80.tflite" \
  "$OUT/pruned80_int8.tflite" "$OUT/pruned80_qat_int8.tflite" "$OUT/channel50.tflite" \
  "$OUT/clustered16.tflite" "$OUT/clustered16_int8.tflite" "$OUT/pruned80_clustered16_qat_int8.tflite" \
  "$OUT/lowrank25.tflite" "$OUT/lowrank25_int8.tflite" "$OUT/channel50_lowrank25_int8.tflite" \
  "$OUT/student.tflite" "$OUT/student_int8.tflite" \
  --names float32,float16,dynamic,int8,int16x8,int8-qat,pruned80,pruned80-int8,pruned80-qat-int8,channel50,clustered16,clustered16-int8,pruned80-clustered16-qat-int8,lowrank25,lowrank25-int8,channel50-lowrank25-int8,student,student-int8 \
  --data fashion-mnist:test --runs 500 --threads 1 \
  --markdown "$OUT/comparison.md" --plot "$OUT/comparison.png"
echo "table: $OUT/comparison.md   plot: $OUT/comparison.png"
echo "Sparse kernels run only where they beat the dense ones: pruned80 (float) gains, the int8"
echo "files do not here (on AVX-512 VNNI the dense kernel wins at 64 channels; 1x4 blocks pay from"
echo "128). 'edgeopt bench FILE --profile [--sparse off|force]' names each layer's kernel;"
echo "docs/pruning.md has the measurements."

step "9. To a microcontroller: C++ source for TensorFlow Lite Micro (and LUT-compressed weights)"
# The model as an aligned array, the arena size and exactly the operators it needs.
mkdir -p "$OUT/mcu"
$E export-c "$OUT/channel50_lowrank25_int8.tflite" -o "$OUT/mcu/model_data.cc"
echo "firmware side: tflite::MicroMutableOpResolver<g_model_op_count> r; g_model_register_ops(r);"
echo "  static uint8_t arena[g_model_arena_size]; (see $OUT/mcu/model_data.h)"
# Clustered weights in TFLM's look-up-table compression: 4-bit indices instead of int8 (flash),
# decoded into the arena while their operator runs (RAM); edgeopt runs the compressed file.
$E export-c "$OUT/clustered16_int8.tflite" --lut --lut-tflite "$OUT/clustered16_int8_lut.tflite" \
  -o "$OUT/mcu/clustered16_data.cc" | grep -E '^(  [0-9]+ tensors|LUT|arena)'
$E eval "$OUT/clustered16_int8_lut.tflite" --data fashion-mnist:test --quiet | tail -n 1

step "10. Beyond CNNs: a GRU, an LSTM and a Transformer block over the image rows, and a decoder measured before training"
# The GRU is unrolled over time into builtin ops, so it trains on edgeopt's engine and QAT takes
# it to a full-integer file (TFMOT's QAT refuses GRU). The LSTM stays TFLite's fused op: dynamic
# range makes it the hybrid LSTM (int8 weights, float arithmetic), int8 and QAT the official
# converter's integer LSTM (int16 cell state). An architecture .json
# converts with Keras's initial weights, and --calibration random quantizes it: its speed and
# size, before any data.
cat > "$OUT/gru_rows.json" <<'JSON'
{"class_name": "Sequential", "config": {"name": "gru_rows", "layers": [
  {"class_name": "InputLayer", "config": {"name": "x", "batch_input_shape": [null, 28, 28, 1]}},
  {"class_name": "Reshape", "config": {"name": "rows", "target_shape": [28, 28]}},
  {"class_name": "GRU", "config": {"name": "gru", "units": 64}},
  {"class_name": "Dense", "config": {"name": "out", "units": 10}}]}}
JSON
$E train "$OUT/gru_rows.json" --data fashion-mnist --epochs 1 --seed 0 --quiet \
  -o "$OUT/gru_rows.keras" | tail -n 1
$E convert "$OUT/gru_rows.keras" -o "$OUT/gru_rows.tflite" | sed -n 2p
$E qat "$OUT/gru_rows.keras" --data fashion-mnist --epochs 1 --lr 1e-4 --quiet \
  -o "$OUT/gru_rows_qat_int8.tflite" | grep '^qat:'
cat > "$OUT/lstm_rows.json" <<'JSON'
{"class_name": "Sequential", "config": {"name": "lstm_rows", "layers": [
  {"class_name": "InputLayer", "config": {"name": "x", "batch_input_shape": [null, 28, 28, 1]}},
  {"class_name": "Reshape", "config": {"name": "rows", "target_shape": [28, 28]}},
  {"class_name": "LSTM", "config": {"name": "lstm", "units": 32}},
  {"class_name": "Dense", "config": {"name": "out", "units": 10}}]}}
JSON
$E train "$OUT/lstm_rows.json" --data fashion-mnist --epochs 1 --seed 0 --quiet \
  -o "$OUT/lstm_rows.keras" | tail -n 1
$E convert "$OUT/lstm_rows.keras" -o "$OUT/lstm_rows.tflite" | sed -n 2p
$E quantize "$OUT/lstm_rows.keras" --mode dynamic --quiet -o "$OUT/lstm_rows_dynamic.tflite"
$E quantize "$OUT/lstm_rows.keras" --mode int8 --calibration fashion-mnist:train --quiet \
  -o "$OUT/lstm_rows_int8.tflite" | sed -n 1p
$E qat "$OUT/lstm_rows.keras" --data fashion-mnist --epochs 1 --lr 1e-4 --quiet \
  -o "$OUT/lstm_rows_qat_int8.tflite" | grep '^qat:'
# A Transformer encoder block over the rows (bench/models/transformer_rows.json: LayerNormalization,
# MultiHeadAttention with 4 heads, a feed-forward block, residuals): BATCH_MATMUL and SOFTMAX stay
# integer in the int8 files.
$E train bench/models/transformer_rows.json --data fashion-mnist --epochs 1 --seed 0 --quiet \
  -o "$OUT/transformer_rows.keras" | tail -n 1
$E convert "$OUT/transformer_rows.keras" -o "$OUT/transformer_rows.tflite" | sed -n 2p
$E quantize "$OUT/transformer_rows.keras" --mode int8 --calibration fashion-mnist:train --quiet \
  -o "$OUT/transformer_rows_int8.tflite" | sed -n 1p
$E qat "$OUT/transformer_rows.keras" --data fashion-mnist --epochs 1 --lr 1e-4 --quiet \
  -o "$OUT/transformer_rows_qat_int8.tflite" | grep '^qat:'
$E convert bench/models/decoder_96.json -o "$OUT/decoder_96.tflite" | sed -n 2p
$E quantize bench/models/decoder_96.json --mode int8 --calibration random --quiet \
  -o "$OUT/decoder_96_int8.tflite"
$E compare "$OUT/gru_rows.tflite" "$OUT/gru_rows_qat_int8.tflite" --names gru,gru-qat-int8 \
  --data fashion-mnist:test --runs 300 --threads 1
$E compare "$OUT/lstm_rows.tflite" "$OUT/lstm_rows_dynamic.tflite" "$OUT/lstm_rows_int8.tflite" \
  "$OUT/lstm_rows_qat_int8.tflite" --names lstm,lstm-dynamic,lstm-int8,lstm-qat-int8 \
  --data fashion-mnist:test --runs 300 --threads 1
$E compare "$OUT/transformer_rows.tflite" "$OUT/transformer_rows_int8.tflite" \
  "$OUT/transformer_rows_qat_int8.tflite" --names transformer,transformer-int8,transformer-qat-int8 \
  --data fashion-mnist:test --runs 300 --threads 1
$E compare "$OUT/decoder_96.tflite" "$OUT/decoder_96_int8.tflite" \
  --names decoder96,decoder96-int8 --runs 100 --threads 1

step "11. The runtime against the official TensorFlow Lite 2.9 runtime (shared corpus)"
if [ -x "$SHARED/tools/conformance/conformance" ]; then
  sh "$SHARED/tools/conformance/conformance" "$E run" "$SHARED/corpus" "$OUT"/*.tflite \
    --seeds 1 | tail -n 1
else
  echo "(../shared not found: skipped)"
fi

printf '\ndemo finished in %ss\n' "$(( $(date +%s) - start ))"
