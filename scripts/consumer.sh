#!/usr/bin/env bash
# Builds and runs Examples/Consumer: a package that depends on Graft by path and runs one
# ResNet-18 training step, without LD_LIBRARY_PATH or rpath flags of its own.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cd Examples/Consumer
export PKG_CONFIG_PATH="${GRAFT_CACHE:-$HOME/.cache/graft}/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
swift build -j "$(nproc)"
./.build/debug/consumer
