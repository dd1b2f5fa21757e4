"""Makes the fixtures of TransferTests: torch.optim trajectories and lr_scheduler sequences.

Inputs are not stored: both sides make them from the same seeds (libtorch's CPU
generator gives Python and C++ the same numbers bit for bit). Run by hand when the
reference changes, with the Python `torch` from the very same wheel Graft links:

    ~/.cache/graft/ref-venv/bin/python Tests/OptimizersTests/Fixtures/make_optim_fixtures.py

Writes, next to this script:
- optimizers.safetensors: for each config in OPTIMIZERS, the parameters after steps
  1, 10 and 100 (`{config}/step{n}/p{i}`) and the optimizer state after step 100
  (`{config}/state/p{i}/{buffer}`), float32;
- schedules.json: for each config in SCHEDULES, the learning rates of both parameter
  groups after construction and after each `step()` (and the momentum / beta1 for
  OneCycleLR), as printed by `repr` (shortest round-trip decimal).

Pinned: torch==2.15.0 (CUDA 13.2 wheel from PyPI), safetensors 0.8.0.
"""
import json
import os

import torch
from safetensors.torch import save_file
from torch.optim import SGD, Adam, AdamW
from torch.optim.lr_scheduler import (
    CosineAnnealingLR,
    LinearLR,
    MultiStepLR,
    OneCycleLR,
    ReduceLROnPlateau,
    SequentialLR,
    StepLR,
)

assert torch.__version__.startswith("2.15.0"), torch.__version__
torch.set_num_threads(2)
HERE = os.path.dirname(os.path.abspath(__file__))


def randn(seed, *shape):
    torch.manual_seed(seed)
    return torch.randn(*shape)


# ---- optimizers ---------------------------------------------------------------------------------
# Inputs: x (3, 6) seed 1, y (4, 6) seed 2. Parameters: p0 (4, 3) seed 3, p1 (4,) seed 4,
# p2 (5,) seed 5. Loss = sum((p0 @ x + p1[:, None] - y)^2) + sum((p2^2 - 1)^2), negated for
# `maximize`. Group 0 holds p0 and p1, group 1 holds p2; each config gives both groups their
# own learning rate and weight decay.
OPTIMIZERS = {
    "sgd_plain": (SGD, dict(), [dict(lr=0.01), dict(lr=0.005)]),
    "sgd_momentum": (SGD, dict(momentum=0.9), [dict(lr=0.01, weight_decay=1e-3), dict(lr=0.002)]),
    "sgd_nesterov_wd": (SGD, dict(momentum=0.9, nesterov=True),
                        [dict(lr=0.01, weight_decay=1e-2), dict(lr=0.003, weight_decay=1e-4)]),
    "sgd_dampening": (SGD, dict(momentum=0.8, dampening=0.5),
                      [dict(lr=0.01), dict(lr=0.005, weight_decay=1e-3)]),
    "sgd_maximize": (SGD, dict(momentum=0.5, maximize=True), [dict(lr=0.01, weight_decay=1e-3), dict(lr=0.004)]),
    "adam_plain": (Adam, dict(), [dict(lr=0.01), dict(lr=0.005)]),
    "adam_weight_decay": (Adam, dict(), [dict(lr=0.01, weight_decay=1e-2), dict(lr=0.005, weight_decay=0.1)]),
    "adam_amsgrad": (Adam, dict(amsgrad=True, betas=(0.8, 0.99), eps=1e-6),
                     [dict(lr=0.02, weight_decay=1e-3), dict(lr=0.01)]),
    "adamw": (AdamW, dict(), [dict(lr=0.01, weight_decay=1e-2), dict(lr=0.005, weight_decay=0.0)]),
    "adamw_amsgrad_maximize": (AdamW, dict(amsgrad=True, maximize=True, betas=(0.85, 0.995)),
                               [dict(lr=0.01, weight_decay=0.05), dict(lr=0.02, weight_decay=1e-3)]),
}
CHECKPOINTS = (1, 10, 100)
STATE_KEYS = ("momentum_buffer", "exp_avg", "exp_avg_sq", "max_exp_avg_sq")


def loss_of(params, x, y, sign):
    p0, p1, p2 = params
    r = p0 @ x + p1.unsqueeze(1) - y
    return sign * ((r**2).sum() + ((p2**2 - 1) ** 2).sum())


tensors = {}
x, y = randn(1, 3, 6), randn(2, 4, 6)
for name, (cls, options, groups) in OPTIMIZERS.items():
    params = [randn(3, 4, 3).requires_grad_(), randn(4, 4).requires_grad_(), randn(5, 5).requires_grad_()]
    opt = cls([dict(params=params[:2], **groups[0]), dict(params=params[2:], **groups[1])],
              foreach=False, fused=False, **options)
    sign = -1.0 if options.get("maximize") else 1.0
    for step in range(1, 101):
        opt.zero_grad()
        loss_of(params, x, y, sign).backward()
        opt.step()
        if step in CHECKPOINTS:
            for i, p in enumerate(params):
                tensors[f"{name}/step{step}/p{i}"] = p.detach().clone()
    for i, p in enumerate(params):
        for key in STATE_KEYS:
            value = opt.state[p].get(key)
            if value is not None:
                tensors[f"{name}/state/p{i}/{key}"] = value.clone()
save_file(tensors, os.path.join(HERE, "optimizers.safetensors"))


# ---- schedules ----------------------------------------------------------------------------------
def sgd(momentum=0.9):
    a, b = torch.zeros(2, requires_grad=True), torch.zeros(3, requires_grad=True)
    return SGD([dict(params=[a], lr=0.1), dict(params=[b], lr=0.02)], momentum=momentum)


def adam():
    a, b = torch.zeros(2, requires_grad=True), torch.zeros(3, requires_grad=True)
    return Adam([dict(params=[a], lr=0.1), dict(params=[b], lr=0.02)], betas=(0.9, 0.99))


def warmup_cosine(opt, warmup, total, start_factor, eta_min):
    return SequentialLR(opt, [LinearLR(opt, start_factor=start_factor, total_iters=warmup),
                              CosineAnnealingLR(opt, T_max=total - warmup, eta_min=eta_min)],
                        milestones=[warmup])


PLATEAU_METRICS = ([1.0, 0.9, 0.85, 0.849, 0.86, 0.848, 0.85, 0.7, 0.71, 0.705, 0.70, 0.69, 0.70, 0.70]
                   + [0.5 + 0.01 * ((7 * k) % 5) for k in range(46)])

# name -> (optimizer maker, scheduler maker, steps, metric sequence or None)
SCHEDULES = {
    "step_lr": (sgd, lambda o: StepLR(o, step_size=7, gamma=0.5), 40, None),
    "multistep_lr": (sgd, lambda o: MultiStepLR(o, milestones=[5, 12, 12, 30], gamma=0.3), 40, None),
    "cosine": (sgd, lambda o: CosineAnnealingLR(o, T_max=30), 30, None),
    "cosine_eta_min_past_t_max": (sgd, lambda o: CosineAnnealingLR(o, T_max=20, eta_min=1e-4), 70, None),
    "linear": (sgd, lambda o: LinearLR(o, start_factor=0.25, end_factor=0.9, total_iters=10), 30, None),
    "warmup_cosine": (sgd, lambda o: warmup_cosine(o, 5, 50, 0.01, 1e-5), 60, None),
    "warmup_cosine_long": (adam, lambda o: warmup_cosine(o, 10, 100, 0.1, 0.0), 100, None),
    "one_cycle": (sgd, lambda o: OneCycleLR(o, max_lr=[0.1, 0.05], total_steps=100), 99, None),
    "one_cycle_adam": (adam, lambda o: OneCycleLR(o, max_lr=0.3, epochs=4, steps_per_epoch=10, pct_start=0.25,
                                                  div_factor=10.0, final_div_factor=100.0,
                                                  base_momentum=0.8, max_momentum=0.9), 40, None),
    "one_cycle_three_phase_linear": (sgd, lambda o: OneCycleLR(o, max_lr=0.2, total_steps=50, three_phase=True,
                                                               anneal_strategy="linear", cycle_momentum=False),
                                     50, None),
    "plateau_min_rel": (sgd, lambda o: ReduceLROnPlateau(o, factor=0.5, patience=2, threshold=1e-2, cooldown=1,
                                                        min_lr=[1e-3, 5e-4]), 60, PLATEAU_METRICS),
    "plateau_max_abs": (sgd, lambda o: ReduceLROnPlateau(o, mode="max", factor=0.3, patience=3,
                                                        threshold_mode="abs", threshold=0.05, cooldown=2,
                                                        min_lr=1e-3),
                        60, [-m for m in PLATEAU_METRICS]),
}


def momenta(opt):
    return [g["betas"][0] if "betas" in g else g["momentum"] for g in opt.param_groups]


schedules = {}
for name, (make_opt, make_sched, steps, metrics) in SCHEDULES.items():
    opt = make_opt()
    sched = make_sched(opt)
    lrs, moms = [[g["lr"] for g in opt.param_groups]], [momenta(opt)]
    for k in range(steps):
        opt.step()
        if metrics is None:
            sched.step()
        else:
            sched.step(metrics[k])
        lrs.append([g["lr"] for g in opt.param_groups])
        moms.append(momenta(opt))
    schedules[name] = {"lr": [[repr(v) for v in row] for row in lrs],
                       "momentum": [[repr(v) for v in row] for row in moms]}
    if metrics is not None:
        schedules[name]["metrics"] = [repr(v) for v in metrics[:steps]]
with open(os.path.join(HERE, "schedules.json"), "w") as f:
    json.dump(schedules, f, indent=1)
    f.write("\n")
