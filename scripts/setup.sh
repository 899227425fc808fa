#!/bin/sh
# Installs every Debian package that edgeopt's build, tests and demo use.
# Idempotent: packages already installed are not fetched again.
#   scripts/setup.sh            build + test + demo packages, with the aarch64/armhf cross
#                               compilers and qemu-user (make test runs the cross builds' tests)
#   scripts/setup.sh --cross    the same (kept for old scripts)
#   scripts/setup.sh --fuzz     also clang and its sanitizer/libFuzzer runtime
set -eu

PKGS="build-essential cmake pkg-config ccache clang-format
  flatbuffers-compiler libflatbuffers-dev
  libhdf5-dev zlib1g-dev nlohmann-json3-dev libcli11-dev libstb-dev
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  g++-aarch64-linux-gnu g++-arm-linux-gnueabihf qemu-user
  dataset-fashion-mnist gnuplot-nox zip time ca-certificates"
# npm sets up ../shared/tools/tflite-ref (the official runtime the tests compare against); a
# machine may already have it from another Node.js package.
if ! command -v npm >/dev/null 2>&1; then PKGS="$PKGS npm"; fi
case "${1:-}" in
  --cross) ;;
  --fuzz) PKGS="$PKGS clang libclang-rt-14-dev" ;;
esac

missing=""
for p in $PKGS; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done
if [ -z "$missing" ]; then
  exit 0
fi
echo "setup: installing$missing" >&2
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
