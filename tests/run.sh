#!/bin/sh
# Installs what is missing, builds, and runs every test: once in an optimised build and
# once under AddressSanitizer and UndefinedBehaviorSanitizer.
set -eu
cd "$(dirname "$0")/.."

./deploy/install-deps.sh --with-tests

jobs=$(nproc 2>/dev/null || echo 2)

echo "== build (RelWithDebInfo) and test"
cmake -S . -B build -DBUILD_TESTING=ON
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure

echo "== build with AddressSanitizer + UBSan and test"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DWSA_SANITIZE=ON -DBUILD_TESTING=ON
cmake --build build-asan -j"$jobs"
ctest --test-dir build-asan --output-on-failure

echo "== all tests passed"
