#!/bin/sh
# The cross builds' tests under qemu-user (part of `make test`, after `make cross`):
# runtime_tests_min (kernel tests; those that call tflite-ref run it natively through sh) and
# ../shared/tools/conformance on a few small corpus models with edgeopt_run_min as the candidate.
#   scripts/cross_test.sh aarch64|armhf
# CROSS_TEST_FILTER: a gtest filter for the kernel tests (default: all).
# CROSS_CONFORMANCE_MODELS: corpus models, relative to ../shared/corpus (default: below).
set -eu
cd "$(dirname "$0")/.."

arch=${1:-}
case "$arch" in
  aarch64) qemu="qemu-aarch64 -L /usr/aarch64-linux-gnu" ;;
  armhf) qemu="qemu-arm -L /usr/arm-linux-gnueabihf" ;;
  *)
    echo "usage: scripts/cross_test.sh aarch64|armhf" >&2
    exit 2
    ;;
esac
build=build-$arch
shared=../shared
# Small models covering FULLY_CONNECTED, CONV_2D, DEPTHWISE_CONV_2D, pooling, ADD, SOFTMAX,
# RESHAPE, the LSTM family, float and int8: about a minute under emulation.
models=${CROSS_CONFORMANCE_MODELS:-"zoo/simple_add_model.tflite
  tflite-micro/hello_world_float.tflite tflite-micro/hello_world_int8.tflite
  mlcommons-tiny/ad01_int8.tflite mlcommons-tiny/pretrainedResnet.tflite
  mlcommons-tiny/pretrainedResnet_quant.tflite mlcommons-tiny/kws_ref_model.tflite
  siliconlabs-mltk/image_example1.tflite tflite-micro/trained_lstm.tflite
  tflite-micro/trained_lstm_int8.tflite"}

now() { date +%s%N; }
ms() { echo $((($(now) - $1) / 1000000)); }

t0=$(now)
echo "cross-test $arch: kernel tests (runtime_tests_min --gtest_filter=${CROSS_TEST_FILTER:-*})"
rc_tests=0
$qemu "$build/runtime_tests_min" --gtest_brief=1 --gtest_filter="${CROSS_TEST_FILTER:-*}" ||
  rc_tests=$?
t_tests=$(ms "$t0")

t1=$(now)
paths=""
for m in $models; do paths="$paths $shared/corpus/$m"; done
echo "cross-test $arch: conformance (edgeopt_run_min under $qemu)"
rc_conf=0
# shellcheck disable=SC2086
sh "$shared/tools/conformance/conformance" "$qemu $build/edgeopt_run_min" $paths || rc_conf=$?
t_conf=$(ms "$t1")
echo "cross-test $arch: kernel tests ${t_tests} ms (exit $rc_tests)," \
  "conformance ${t_conf} ms (exit $rc_conf)"
[ "$rc_tests" = 0 ] && [ "$rc_conf" = 0 ]
