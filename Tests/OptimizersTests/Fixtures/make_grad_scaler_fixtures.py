"""Makes grad_scaler.json: torch.amp.GradScaler's scales, clean-step counts, skipped steps
and parameters over ten steps of GradScalerTests.swift's problem, with non-finite gradients
injected on some steps, the gradients unscaled and clipped before the step.

The problem is make_optim_fixtures.py's (parameters p0 (4, 3), p1 (4), p2 (5) from seeds
3, 4, 5; x, y from seeds 1, 2); the optimizer SGD(lr 0.01, momentum 0.9). GradScaler runs on
the CPU (PyTorch has its CPU kernels since 2.3) with growth_interval 3 so growth shows.

    ~/.cache/graft/ref-venv/bin/python Tests/OptimizersTests/Fixtures/make_grad_scaler_fixtures.py

Pinned: torch==2.15.0.
"""
import json
import os

import torch

assert torch.__version__.startswith("2.15.0"), torch.__version__
HERE = os.path.dirname(os.path.abspath(__file__))


def seeded(seed, *shape):
    torch.manual_seed(seed)
    return torch.randn(*shape)


x, y = seeded(1, 3, 6), seeded(2, 4, 6)
params = [seeded(3, 4, 3).requires_grad_(), seeded(4, 4).requires_grad_(), seeded(5, 5).requires_grad_()]
optimizer = torch.optim.SGD(params, lr=0.01, momentum=0.9)
scaler = torch.amp.GradScaler("cpu", init_scale=2.0 ** 16, growth_factor=2.0, backoff_factor=0.5, growth_interval=3)
# step -> (parameter index, flat element, value) written into the scaled gradient
INJECT = {3: (0, 0, float("inf")), 6: (2, 4, float("-inf")), 7: (1, 2, float("nan"))}
steps = []
for step in range(1, 11):
    optimizer.zero_grad()
    p0, p1, p2 = params
    loss = ((p0 @ x + p1[:, None] - y) ** 2).sum() + ((p2 ** 2 - 1) ** 2).sum()
    scaler.scale(loss).backward()
    if step in INJECT:
        i, e, v = INJECT[step]
        params[i].grad.view(-1)[e] = v
    scaler.unscale_(optimizer)
    norm = torch.nn.utils.clip_grad_norm_(params, max_norm=5.0)
    before = [p.detach().clone() for p in params]
    scaler.step(optimizer)
    stepped = not all(torch.equal(b, p) for b, p in zip(before, params))
    scaler.update()
    steps.append({"loss": loss.item(), "scale": scaler.get_scale(), "growth_tracker": int(scaler._growth_tracker.item()),
                  "stepped": stepped, "params": [p.detach().flatten().tolist() for p in params]})

with open(os.path.join(HERE, "grad_scaler.json"), "w") as f:
    json.dump({"inject": {str(k): [i, e, str(v)] for k, (i, e, v) in INJECT.items()}, "steps": steps}, f)
print([(s["scale"], s["growth_tracker"], s["stepped"]) for s in steps])
