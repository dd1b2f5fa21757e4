"""Makes sampler.json: torch.utils.data.WeightedRandomSampler's draws for class balance.

Labels: 40 samples, class 0 thirty times, class 1 seven, class 2 three (i < 30 → 0,
i < 37 → 1, else 2); weights 1 / class count; 40 draws with replacement from a
torch.Generator seeded with each seed listed. What DataLoader(balanced: true) draws with
a generator of that seed.

    ~/.cache/graft/ref-venv/bin/python Tests/DatasetTests/Fixtures/sampler.py

Pinned: torch==2.15.0.
"""
import json
import os

import torch
from torch.utils.data import WeightedRandomSampler

assert torch.__version__.startswith("2.15.0")
labels = [0 if i < 30 else 1 if i < 37 else 2 for i in range(40)]
counts = {c: labels.count(c) for c in set(labels)}
weights = [1 / counts[y] for y in labels]
out = {}
for seed in [0, 7, 123456789]:
    g = torch.Generator()
    g.manual_seed(seed)
    out[str(seed)] = list(WeightedRandomSampler(weights, 40, replacement=True, generator=g))
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "sampler.json"), "w") as f:
    json.dump(out, f)
print(out["0"][:10])
