"""Makes ema.json: timm's ModelEmaV3 over a known sequence of model states.

A module of a Linear(4, 3) ("fc") and a BatchNorm2d(3) ("bn") is set, before update t
(t = 1, 2, ...), to values made from t: every floating entry's element i of key number k
is sin(0.3 t + 0.7 i + 1.1 k) (running_var: 1.5 + that), num_batches_tracked is t; then
ModelEmaV3.update(model, step=t), as timm's train.py calls it after each optimizer step.
The EMA's state after chosen steps is recorded, for two settings: decay 0.9 without
warm-up, and decay 0.999 with timm's warm-up (gamma 1, power 2/3).

    ~/.cache/graft/ref-venv/bin/python Tests/TransferTests/Fixtures/make_ema_fixtures.py

Pinned: torch==2.15.0, timm==1.0.31.
"""
import json
import math
import os

import torch
import timm
from timm.utils.model_ema import ModelEmaV3

assert torch.__version__.startswith("2.15.0") and timm.__version__ == "1.0.31"
HERE = os.path.dirname(os.path.abspath(__file__))


class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(4, 3)
        self.bn = torch.nn.BatchNorm2d(3)


def set_state(model, t):
    with torch.no_grad():
        for k, (key, v) in enumerate(model.state_dict().items()):
            if v.is_floating_point():
                values = [math.sin(0.3 * t + 0.7 * i + 1.1 * k) for i in range(v.numel())]
                if key.endswith("running_var"):
                    values = [1.5 + x for x in values]
                v.copy_(torch.tensor(values, dtype=torch.float64).view(v.shape).to(v.dtype))
            else:
                v.fill_(t)


out = {}
for name, decay, warmup in [("plain", 0.9, False), ("warmup", 0.999, True)]:
    torch.manual_seed(0)
    model = Tiny()
    set_state(model, 0)
    ema = ModelEmaV3(model, decay=decay, use_warmup=warmup)
    records = {}
    for t in range(1, 51):
        set_state(model, t)
        ema.update(model, step=t)
        if t in (1, 2, 3, 5, 10, 50):
            records[str(t)] = {
                "decay": ema.get_decay(t),
                "state": {k: v.double().flatten().tolist() for k, v in ema.module.state_dict().items()},
            }
    out[name] = {"decay": decay, "warmup": warmup, "keys": list(model.state_dict().keys()), "steps": records}
with open(os.path.join(HERE, "ema.json"), "w") as f:
    json.dump(out, f, indent=1)
print("wrote ema.json")
