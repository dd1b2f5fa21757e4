#!/usr/bin/env bash
# Sets everything up (idempotent), builds graft in release mode and runs the main job:
# few-shot Fashion-MNIST with EfficientNet-Lite0's real ImageNet weights vs. from scratch.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PKG_CONFIG_PATH="${GRAFT_CACHE:-$HOME/.cache/graft}/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
swift build -c release --product graft
.build/release/graft --version
.build/release/graft demo "$@"
