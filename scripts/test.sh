#!/usr/bin/env bash
# Sets everything up (idempotent) and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PKG_CONFIG_PATH="${GRAFT_CACHE:-$HOME/.cache/graft}/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
swift build --build-tests -j "$(nproc)"
# Serially: several suites seed libtorch's global generator (as PyTorch tests do), and
# layers draw their initial weights from it, so parallel suites would interleave draws.
swift test --skip-build --no-parallel "$@"
