"""Makes mixing.json: torchvision's v2.MixUp and v2.CutMix on a known batch.

The batch: 4 float32 images 3 × 8 × 10, element (n, c, y, x) = sin(0.1 (n·240 + c·80 + y·10 + x)),
labels [0, 1, 2, 1], 3 classes. For each seed, torch.manual_seed(seed) right before the call
(Swift: Torch.manualSeed(seed), the global generator). MixUp with alpha 0.4, CutMix with 1.0.

    ~/.cache/graft/ref-venv/bin/python Tests/ImageDataTests/Fixtures/make_mixing_fixtures.py

Pinned: torch==2.15.0, torchvision==0.29.2.
"""
import json
import math
import os

import torch
import torchvision
from torchvision.transforms import v2

assert torch.__version__.startswith("2.15.0") and torchvision.__version__.startswith("0.29.2")
images = torch.tensor([math.sin(0.1 * i) for i in range(4 * 3 * 8 * 10)], dtype=torch.float32).view(4, 3, 8, 10)
labels = torch.tensor([0, 1, 2, 1])
out = {}
for name, transform in [("mixup", v2.MixUp(alpha=0.4, num_classes=3)), ("cutmix", v2.CutMix(alpha=1.0, num_classes=3))]:
    for seed in range(5):
        torch.manual_seed(seed)
        x, y = transform(images.clone(), labels.clone())
        out[f"{name}/{seed}"] = {"images": x.flatten().double().tolist(), "labels": y.flatten().double().tolist()}
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "mixing.json"), "w") as f:
    json.dump(out, f)
print({k: [round(v, 4) for v in out[k]["labels"][:3]] for k in out})
