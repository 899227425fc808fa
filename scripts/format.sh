#!/bin/sh
# clang-format (Google style, 100 columns: .clang-format) over every C++ source of the project.
#   scripts/format.sh          rewrite the files in place (`make format`)
#   scripts/format.sh --check  list the files that differ and exit 1 if any does (a ctest)
set -eu
cd "$(dirname "$0")/.."
files=$(find src tools tests bench fuzz include \( -name '*.cc' -o -name '*.h' \) | sort)
if [ "${1:-}" != "--check" ]; then
  # shellcheck disable=SC2086
  clang-format -i $files
  exit 0
fi
count=$(echo "$files" | wc -l)
# shellcheck disable=SC2086
if out=$(clang-format --dry-run --Werror $files 2>&1); then
  echo "format: all $count files clang-formatted"
  exit 0
fi
echo "$out" | sed -n 's/^\([^:]*\):[0-9]*:[0-9]*: .*/\1/p' | sort -u | sed 's/^/not clang-formatted: /'
echo "format: run make format (clang-format --dry-run --Werror found the files above)"
exit 1
