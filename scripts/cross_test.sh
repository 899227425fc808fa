#!/bin/sh
# The cross builds' tests under qemu-user (part of `make test`, after `make cross`):
# runtime_tests_min (kernel tests; those that call tflite-ref run it natively through sh) and
# ../shared/tools/conformance on the corpus models under 2 MB with edgeopt_run_min as the
# candidate.
#   scripts/cross_test.sh aarch64|armhf
# CROSS_TEST_FILTER: a gtest filter for the kernel tests (default: all).
# CROSS_CONFORMANCE_MODELS: corpus models, relative to ../shared/corpus.
# Both gtest and conformance run to the end; the exit status is non-zero if either failed.
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
shared=${EDGEOPT_SHARED:-../shared}  # ../shared beside the checkout, or EDGEOPT_SHARED
# Every corpus model under 2 MB (all but the three 224x224 MobileNets, about 20 s each under
# emulation): about half a minute per architecture.
if [ -n "${CROSS_CONFORMANCE_MODELS:-}" ]; then
  paths=""
  for m in $CROSS_CONFORMANCE_MODELS; do paths="$paths $shared/corpus/$m"; done
else
  paths=$(find "$shared/corpus" -name '*.tflite' -size -2048k | sort)
fi

now() { date +%s%N; }
ms() { echo $((($(now) - $1) / 1000000)); }

t0=$(now)
echo "cross-test $arch: kernel tests (runtime_tests_min --gtest_filter=${CROSS_TEST_FILTER:-*})"
# The whole output goes to a log (the agreement tests print a line each); shown on failure.
log=$build/runtime_tests_min.log
# A rare hang under qemu-user (every thread idle in a futex wait, seen twice in about thirty
# runs, on armhf and aarch64, never natively or under TSan) would stall `make test`: the run is
# bounded, and a run that hangs is reported with its last lines and repeated once.
run_kernel_tests() {
  rc_tests=0
  timeout "${CROSS_TEST_TIMEOUT:-600}" $qemu "$build/runtime_tests_min" --gtest_brief=1 \
    --gtest_filter="${CROSS_TEST_FILTER:-*}" >"$log" 2>&1 || rc_tests=$?
}
run_kernel_tests
if [ "$rc_tests" = 124 ]; then
  echo "cross-test $arch: kernel tests HUNG under qemu (timeout); last lines:"
  tail -n 3 "$log"
  echo "cross-test $arch: running the kernel tests again"
  run_kernel_tests
fi
if [ "$rc_tests" = 0 ]; then tail -n 2 "$log"; else cat "$log"; fi
t_tests=$(ms "$t0")

t1=$(now)
echo "cross-test $arch: conformance (edgeopt_run_min under $qemu)"
rc_conf=0
# shellcheck disable=SC2086
sh "$shared/tools/conformance/conformance" "$qemu $build/edgeopt_run_min" $paths || rc_conf=$?
t_conf=$(ms "$t1")
echo "cross-test $arch: kernel tests ${t_tests} ms (exit $rc_tests)," \
  "conformance ${t_conf} ms (exit $rc_conf)"
[ "$rc_tests" = 0 ] && [ "$rc_conf" = 0 ]
