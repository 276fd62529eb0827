#!/usr/bin/env bash
# Install dependencies, build, and run every test (unit, fuzz smoke, integration) through ctest.
#   tests/run-all.sh                 # build/ , normal build
#   MYORCH_SANITIZE=ON BUILD_DIR=build-asan tests/run-all.sh   # ASan + UBSan
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/deps.sh
BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo} \
      -DMYORCH_SANITIZE=${MYORCH_SANITIZE:-OFF} >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)"
cd "$BUILD_DIR"
ctest --output-on-failure --timeout 900 ${CTEST_ARGS:-}
