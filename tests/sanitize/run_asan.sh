#!/usr/bin/env bash
# The C++ suite built with AddressSanitizer and UndefinedBehaviorSanitizer, run with ctest:
#   tests/sanitize/run_asan.sh
# Exits non-zero on a failing test or on any sanitizer report (UBSan is told to halt on the
# first, so a report fails its test instead of scrolling past).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
build="$root/build/asan"
sanitizers="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS="$sanitizers" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
  -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=address,undefined" \
  -DBLASNET_BUILD_TESTS=ON >/dev/null
cmake --build "$build" -j 2
# detect_leaks: the suite frees what it allocates, so a leak is a bug too. The consumer.*
# tests build a separate, uninstrumented application against the installed package: they test
# packaging, which the plain ctest run covers, and cannot link an instrumented library.
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir "$build" --output-on-failure -j 2 -E '^consumer\.'
