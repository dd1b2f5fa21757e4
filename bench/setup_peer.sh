#!/usr/bin/env bash
# Creates the Python "peer" environment the benchmarks compare Graft against:
# torch 2.15.0 (the wheel Graft's libtorch comes from), torchvision 0.29.2, pillow,
# numpy and safetensors, with their dependencies, from PyPI.
#
#   bash bench/setup_peer.sh        # prints the venv's path on its last line
#
# Idempotent: when the venv already imports the pinned versions it prints one line.
# It reuses ~/.cache/graft/ref-venv (the test-fixture venv, same pins) when that one
# works; GRAFT_PEER_VENV=/path picks another location (created there if missing).
# Not for CI: it downloads PyTorch and the CUDA wheels it declares (5.5 GB installed).
set -euo pipefail

CACHE="${GRAFT_CACHE:-$HOME/.cache/graft}"
PINS=(torch==2.15.0 torchvision==0.29.2 pillow numpy safetensors)
CHECK='import torch, torchvision, PIL, numpy, safetensors
assert torch.__version__.split("+")[0] == "2.15.0", torch.__version__
assert torchvision.__version__.split("+")[0] == "0.29.2", torchvision.__version__'

works() { [ -x "$1/bin/python" ] && "$1/bin/python" -c "$CHECK" 2>/dev/null; }

if [ -n "${GRAFT_PEER_VENV:-}" ]; then
  VENV="$GRAFT_PEER_VENV"
elif works "$CACHE/ref-venv"; then
  VENV="$CACHE/ref-venv"
else
  VENV="$CACHE/bench-venv"
fi

if works "$VENV"; then
  echo "graft bench: peer venv ready: $VENV"
  exit 0
fi

echo "graft bench: creating the peer venv in $VENV (torch, torchvision and the CUDA wheels they declare: about 5.5 GB installed)"
command -v python3 >/dev/null || { echo "graft bench: error: python3 is needed" >&2; exit 1; }
python3 -m venv "$VENV"
"$VENV/bin/pip" install -q "${PINS[@]}"
works "$VENV" || { echo "graft bench: error: $VENV does not import the pinned versions" >&2; exit 1; }
echo "graft bench: peer venv ready: $VENV"
