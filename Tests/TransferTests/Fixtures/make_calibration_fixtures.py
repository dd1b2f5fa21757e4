"""Makes calibration.json: temperature scaling and the expected calibration error on logits
made from seeds, with the references' answers: torchmetrics' `multiclass_calibration_error`
(15 bins, l1: the top-label ECE) at T = 1 and at the fitted T, and the temperature that
minimises the mean cross-entropy of logits / T, found by scipy's bounded scalar minimiser
(to 1e-10) in float64, with the cross-entropy before and after.

Cases: over-confident logits (T > 1), under-confident ones (T < 1), and one where some rows'
top probability is exactly 1 (torchmetrics' extra last bin).

    ~/.cache/graft/ref-venv/bin/python Tests/TransferTests/Fixtures/make_calibration_fixtures.py

Pinned: torch==2.15.0, torchmetrics==1.9.0, scipy (scikit-learn's).
"""
import json
import os

import numpy as np
import scipy.optimize
import torch
import torchmetrics
from torchmetrics.functional.classification import multiclass_calibration_error

assert torch.__version__.startswith("2.15.0") and torchmetrics.__version__ == "1.9.0"
HERE = os.path.dirname(os.path.abspath(__file__))


def case(name, n, c, scale, seed, saturate=0):
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, c, (n,), generator=g)
    logits = torch.randn(n, c, generator=g, dtype=torch.float64)
    # A signal toward the true class, then a scale that makes the model over- or under-confident.
    logits[torch.arange(n), labels] += 1.5
    flip = torch.rand(n, generator=g) < 0.25
    logits[flip] = logits[flip].roll(1, dims=1)
    logits *= scale
    if saturate:
        logits[:saturate] = 0
        logits[torch.arange(saturate), labels[:saturate]] = 200.0  # softmax exactly 1 (float32 and float64)
    nll = lambda t: torch.nn.functional.cross_entropy(logits / t, labels).item()
    found = scipy.optimize.minimize_scalar(nll, bounds=(0.01, 100), method="bounded", options={"xatol": 1e-10})
    t = float(found.x)
    ece = lambda t: multiclass_calibration_error((logits / t).softmax(1), labels, num_classes=c, n_bins=15).item()
    return {"name": name, "classes": c, "logits": logits.flatten().tolist(), "labels": labels.tolist(),
            "temperature": t, "nll_before": nll(1.0), "nll_after": nll(t), "ece_before": ece(1.0), "ece_after": ece(t)}


cases = [case("over-confident", 300, 5, 3.0, 1), case("under-confident", 400, 10, 0.4, 2),
         case("saturated rows", 200, 4, 2.0, 3, saturate=12)]
with open(os.path.join(HERE, "calibration.json"), "w") as f:
    json.dump({"bins": 15, "cases": cases}, f)
for c in cases:
    print(c["name"], "T", round(c["temperature"], 4), "ECE", round(c["ece_before"], 4), "->", round(c["ece_after"], 4))
