"""The classic transfer-learning tutorial's recipe in PyTorch, for Graft to match:
ResNet-18 (weights from a seed, filled as in Tests/VisionTests/Fixtures), a new
`fc` for 3 classes, everything frozen but `fc`, SGD(lr=0.001, momentum=0.9),
cross-entropy, 8 steps over 4 fixed batches (same data order, no augmentation).
Two variants: the tutorial's `model.train()` (frozen BatchNorm statistics drift)
and Graft's default (frozen BatchNorm in eval mode). Writes recipe.json.

    ~/.cache/graft/ref-venv/bin/python Tests/TransferTests/Fixtures/make_recipe_fixtures.py

Pinned: torch==2.15.0, torchvision==0.29.2.
"""
import json
import math
import os

import torch
import torchvision

assert torch.__version__.startswith("2.15.0")
torch.set_num_threads(2)


def fill(model, seed):
    torch.manual_seed(seed)
    with torch.no_grad():
        for key, t in model.state_dict().items():
            if key.endswith("num_batches_tracked"):
                t.zero_()
            elif key.endswith("running_var"):
                t.copy_(torch.rand(t.shape) + 0.5)
            elif key.endswith("running_mean"):
                t.copy_(torch.randn(t.shape) * 0.1)
            elif t.dim() >= 2:
                t.copy_(torch.randn(t.shape) * math.sqrt(1.0 / t[0].numel()))
            elif key.endswith("weight"):
                t.copy_(torch.randn(t.shape) * 0.1 + 0.5)
            else:
                t.copy_(torch.randn(t.shape) * 0.1)


def run(bn_train):
    model = torchvision.models.resnet18()
    model.fc = torch.nn.Linear(512, 3)
    fill(model, 7)
    for name, p in model.named_parameters():
        p.requires_grad = name.startswith("fc.")
    torch.manual_seed(8)
    batches = [(torch.randn(4, 3, 64, 64), torch.randint(0, 3, (4,))) for _ in range(4)]
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.001, momentum=0.9)
    criterion = torch.nn.CrossEntropyLoss()
    model.train()
    if not bn_train:  # Graft's default: the frozen trunk stays in eval mode
        for name, m in model.named_modules():
            if name and not name.startswith("fc"):
                m.eval()
    losses = []
    for step in range(8):
        x, y = batches[step % 4]
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return {"losses": losses, "fc_weight": model.fc.weight.flatten().tolist(), "fc_bias": model.fc.bias.tolist(),
            "bn1_running_mean_sum": model.bn1.running_mean.sum().item()}


out = {"tutorial": run(True), "graft_default": run(False)}
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "recipe.json"), "w") as f:
    json.dump(out, f, indent=1)
print(out)
