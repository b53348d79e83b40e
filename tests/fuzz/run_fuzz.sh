#!/usr/bin/env bash
# Fuzzes the model-file loader with libFuzzer, AddressSanitizer and UndefinedBehaviorSanitizer
# for a bounded time, seeded with the committed good and bad model files:
#   tests/fuzz/run_fuzz.sh [seconds, default 60]
# Exits non-zero on a crash, a sanitizer report or a leak; the input that caused it is left in
# build/fuzz/artifacts/. The corpus it grows stays in build/fuzz/corpus (not committed).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
seconds=${1:-60}

source "$root/tests/sanitize/need_clang.sh"
need_clang fuzzer

build="$root/build/fuzz"
sanitizers="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined"
cmake -S "$root" -B "$build" -G Ninja \
  -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS="$sanitizers -fno-omit-frame-pointer" \
  -DBLASNET_BUILD_FUZZERS=ON -DBLASNET_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" --target fuzz_model_file

mkdir -p "$build/corpus" "$build/artifacts"
cp -n "$root"/tests/data/bad_models/* "$root"/tests/data/bad_python_models/*.safetensors \
  "$root"/tests/data/good_models/* "$build/corpus/" 2>/dev/null || true
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  "$build/cpp/fuzz/fuzz_model_file" "$build/corpus" \
  -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
  -artifact_prefix="$build/artifacts/" -print_final_stats=1
