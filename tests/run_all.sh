#!/usr/bin/env bash
# Installs what the tests need, then runs them all:
#   - pytest against blasnet installed with pip into a fresh virtual environment (the wheel's
#     build links scipy-openblas32; no LD_LIBRARY_PATH is set anywhere), with the optional
#     packages its tests exercise: scikit-learn, matplotlib, onnx and onnxruntime, and mpi4py
#     with the mpich wheel (the distributed tests start mpiexec -n 2 and -n 3);
#   - the documentation, built with Sphinx with warnings as errors;
#   - ctest against a plain CMake build that links the system OpenBLAS, as C++ users do.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

# System packages for the C++ build: OpenBLAS with cblas.h, nlohmann/json, and GoogleTest.
missing=()
for pkg in libopenblas-dev nlohmann-json3-dev libgtest-dev; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

venv="$root/build/venv"
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --upgrade pip
started=$(date +%s)
"$venv/bin/python" -m pip install -q ".[test,docs]"
echo "pip install (build + install): $(( $(date +%s) - started )) s"

# Run from outside the source tree so the tests import the installed package.
(cd "$root/tests" && "$venv/bin/python" -m pytest -c "$root/pyproject.toml" --rootdir "$root" "$root/tests/python")
PYTHON="$venv/bin/python" bash "$root/docs/build.sh" -q

export PATH="$venv/bin:$PATH"
# The C++ package inside the wheel, used as an application would: find_package(blasnet) from
# the folder `python -m blasnet --cmake-dir` prints.
cmake -S "$root/tests/cpp/consumer" -B "$root/build/consumer-wheel" -G Ninja \
  -DCMAKE_PREFIX_PATH="$("$venv/bin/python" -m blasnet --cmake-dir)"
cmake --build "$root/build/consumer-wheel"
"$root/build/consumer-wheel/consumer"
# examples/cpp against the same package: predict.cpp loads a model Python saved and must print
# Python's predictions (to 1e-12).
cmake -S "$root/examples/cpp" -B "$root/build/example-cpp-wheel" -G Ninja \
  -DCMAKE_PREFIX_PATH="$("$venv/bin/python" -m blasnet --cmake-dir)"
cmake --build "$root/build/example-cpp-wheel"
model_dir="$root/build/example-cpp-wheel/model"
"$venv/bin/python" "$root/examples/cpp/make_model.py" "$model_dir"
"$root/build/example-cpp-wheel/predict" "$model_dir/xor.safetensors" "$model_dir/samples.csv" > "$model_dir/cpp.csv"
"$venv/bin/python" "$root/examples/cpp/make_model.py" "$model_dir" --check "$model_dir/cpp.csv"

cmake -S "$root" -B "$root/build/ctest" -G Ninja -DBLASNET_WARNINGS_AS_ERRORS=ON
cmake --build "$root/build/ctest" -j 2
ctest --test-dir "$root/build/ctest" --output-on-failure -j 2
