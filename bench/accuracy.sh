#!/usr/bin/env bash
# The time-to-accuracy benchmark, the one command:
#
#   bash bench/accuracy.sh [--sets fmnist20,digits20]
#
# Sets up the peer venv (bench/setup_peer.sh) and adds fastai 2.8.12 and scikit-learn to it
# (same torch), builds graft in release mode, then bench/time_to_accuracy.py runs PyTorch's
# tutorial loop, fastai's fine_tune and graft train's defaults on each set, one after another.
# About 9 minutes per set on 2 cores; keep the machine otherwise idle. Not for CI.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PKG_CONFIG_PATH="${GRAFT_CACHE:-$HOME/.cache/graft}/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
VENV="$(bash bench/setup_peer.sh | tee /dev/stderr | sed -n 's/^graft bench: peer venv ready: //p')"
if ! "$VENV/bin/python" -c 'import fastai, sklearn; assert fastai.__version__ == "2.8.12"' 2>/dev/null; then
  echo "graft bench: adding fastai 2.8.12 and scikit-learn to $VENV"
  "$VENV/bin/pip" install -q fastai==2.8.12 scikit-learn torch==2.15.0 torchvision==0.29.2
fi
swift build -c release --product graft
exec "$VENV/bin/python" bench/time_to_accuracy.py "$@"
