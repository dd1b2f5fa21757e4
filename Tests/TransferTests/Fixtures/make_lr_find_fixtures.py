"""Makes lr_find.json: fastai's learning-rate finder (`Learner.lr_find`) on small real
problems, each batch's raw loss as the model gave it, and what fastai made of them: the
learning rate of each batch (the exponential sweep), the smoothed losses its Recorder keeps
(AvgSmoothLoss, β 0.98, debiased), where the sweep stopped (num_it batches, or the smoothed
loss above 4× its best: divergence) and the `valley` suggestion. Graft's finder is checked to
give the same rates, smoothed losses, stop and suggestion from the same raw losses.

    ~/.cache/graft/ref-venv/bin/python Tests/TransferTests/Fixtures/make_lr_find_fixtures.py

Pinned: torch==2.15.0, fastai==2.8.12.
"""
import json
import os
import warnings

import torch
import fastai
import fastai.callback.schedule  # noqa: F401 (adds Learner.lr_find)
from fastai.callback.core import Callback
from fastai.data.core import DataLoaders
from fastai.data.load import DataLoader
from fastai.learner import Learner
from fastai.losses import CrossEntropyLossFlat

assert torch.__version__.startswith("2.15.0") and fastai.__version__ == "2.8.12"
warnings.filterwarnings("ignore")
HERE = os.path.dirname(os.path.abspath(__file__))


class RawLosses(Callback):
    """Each training batch's loss as the model gave it (after the Recorder, before the finder)."""
    order = 51

    def before_fit(self): self.values = []

    def after_batch(self):
        if self.training: self.values.append(self.learn.loss.item())


def case(name, model, start_lr, end_lr, num_it, seed):
    torch.manual_seed(seed)
    x = torch.randn(256, 8)
    y = (x @ torch.randn(8, 4)).argmax(1)
    data = list(zip(x, y))
    dls = DataLoaders(DataLoader(data, bs=16, shuffle=True, drop_last=True), DataLoader(data, bs=16))
    raw = RawLosses()
    learn = Learner(dls, model, loss_func=CrossEntropyLossFlat(), cbs=[raw])
    with learn.no_bar():
        suggestion = learn.lr_find(start_lr=start_lr, end_lr=end_lr, num_it=num_it, show_plot=False)
    return {"name": name, "start_lr": start_lr, "end_lr": end_lr, "num_it": num_it,
            "raw_losses": raw.values, "lrs": [float(v) for v in learn.recorder.lrs],
            "smoothed": [float(v) for v in learn.recorder.losses], "valley": float(suggestion.valley)}


torch.manual_seed(0)
cases = [
    case("linear, full sweep", torch.nn.Linear(8, 4), 1e-7, 10, 100, 1),
    case("mlp, diverges", torch.nn.Sequential(torch.nn.Linear(8, 32), torch.nn.ReLU(), torch.nn.Linear(32, 4)),
         1e-5, 100, 100, 2),
    case("mlp, 40 batches", torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4)),
         1e-6, 1, 40, 3),
]
with open(os.path.join(HERE, "lr_find.json"), "w") as f:
    json.dump({"beta": 0.98, "cases": cases}, f, indent=0)
for c in cases:
    print(c["name"], len(c["raw_losses"]), "batches, valley", c["valley"])
