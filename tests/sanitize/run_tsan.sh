#!/usr/bin/env bash
# Builds the C++ tests that run threads against one model or one optimizer — predictions
# sharing a const graph, a stop flag set from another thread, calls that wait for a running
# fit's optimizer, fits that share one, data-parallel fits whose hooks meet in shared memory —
# with ThreadSanitizer, and runs them:
#   tests/sanitize/run_tsan.sh
# Exits non-zero on a failed test or on any ThreadSanitizer report. The build is in build/tsan.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)

source "$root/tests/sanitize/need_clang.sh"
need_clang tsan

build="$root/build/tsan"
cmake -S "$root" -B "$build" -G Ninja \
  -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS="-fsanitize=thread -fno-omit-frame-pointer" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=thread" \
  -DBLASNET_BUILD_TESTS=ON >/dev/null
cmake --build "$build" --target test_predict test_training test_data_parallel test_optimizers

# OpenBLAS is not instrumented: what its own worker threads write into our buffers, handed
# back through its own spin-waits, is invisible to ThreadSanitizer or misread by it. With one
# BLAS thread every product runs on the thread that called it, so what is checked is how our
# threads share models and optimizers, whatever BLAS build CMake finds. (Here, with the
# system OpenBLAS, two BLAS threads gave no report either; these tests' products are small.)
export OPENBLAS_NUM_THREADS=1
# halt_on_error: the first report fails the test that made it; exitcode makes the failure
# visible even when a report comes from a thread after the test body passed.
export TSAN_OPTIONS="halt_on_error=1:exitcode=66:second_deadlock_stack=1"
ctest --test-dir "$build" --output-on-failure --timeout 600 \
  -R '(Thread|StopFlag|SharedOptimizer|OptimizerHold|DataParallel)'
