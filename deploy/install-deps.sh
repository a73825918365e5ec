#!/bin/sh
# Installs the Debian bookworm packages that wsa-relay needs to build, run and test.
# Only what is missing is installed; a machine that has everything is left untouched.
set -eu

# Build and run: compiler, CMake, pkg-config, the libraries the service links, and curl
# for the README's examples.
BUILD_PKGS="gcc libc6-dev make cmake pkg-config \
libh2o-evloop-dev libssl-dev libjansson-dev libsqlite3-dev libjwt-dev zlib1g-dev \
libcurl4-openssl-dev curl"
# Tests: cmocka for unit tests, the formatter the tree is checked against,
# util-linux for unshare (fault tests in their own mount namespaces).
TEST_PKGS="libcmocka-dev clang-format util-linux ca-certificates openssl"

want="$BUILD_PKGS"
case "${1:-}" in
--with-tests) want="$BUILD_PKGS $TEST_PKGS" ;;
"") ;;
*)
    echo "usage: $0 [--with-tests]" >&2
    exit 2
    ;;
esac

missing=""
for p in $want; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing="$missing $p"
    fi
done

if [ -z "$missing" ]; then
    echo "install-deps: all packages present"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing Debian packages:$missing" >&2
    echo "install-deps: run this script as root (or: sudo apt-get install$missing)" >&2
    exit 1
fi

echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086 # the package list is meant to split into words
apt-get install -y -qq --no-install-recommends $missing
