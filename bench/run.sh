#!/usr/bin/env bash
# Graft's benchmarks against PyTorch-Python, the one command:
#
#   bash bench/run.sh [--quick]
#
# Sets up the peer venv (bench/setup_peer.sh), builds graft and graft-bench in release
# mode, then bench/run.py makes the data (bench/make_data.py) and runs every case, Graft
# and PyTorch alternately. The table is printed and written, with the raw numbers, to
# ~/.cache/graft/bench-results/. Quick: about 22 minutes on 2 cores; full: about 55 minutes.
# Keep the machine otherwise idle while it runs. Not for CI (it downloads PyTorch).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PKG_CONFIG_PATH="${GRAFT_CACHE:-$HOME/.cache/graft}/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
VENV="$(bash bench/setup_peer.sh | tee /dev/stderr | sed -n 's/^graft bench: peer venv ready: //p')"
swift build -c release --product graft
swift build -c release --product graft-bench
exec "$VENV/bin/python" bench/run.py "$@"
