"""Makes autocast.json: what PyTorch's CPU autocast (bfloat16) gives for the recipes in
AutocastTests.swift, output dtypes, values and the fp32 gradients that reach the parameters.

Inputs are not stored: both sides make them from the same seeds. bfloat16 kernels depend
on the CPU's instruction set (oneDNN picks AVX512-BF16 / AMX code where the CPU has it), so
the fixture records the CPU that made it ("made_on"); the Swift test compares values only on
a CPU with the same libtorch capability and bf16 flags, and dtypes everywhere. Run by hand
with the Python torch of the very same wheel Graft links:

    ~/.cache/graft/ref-venv/bin/python Tests/TorchTests/Fixtures/make_autocast_fixtures.py

Pinned: torch==2.15.0.
"""
import json
import os

import torch
import torch.nn.functional as F

assert torch.__version__.startswith("2.15.0"), torch.__version__
torch.set_num_threads(2)
HERE = os.path.dirname(os.path.abspath(__file__))
out = {}


def put(name, t):
    t = t.detach()
    out[name] = {"shape": list(t.shape), "dtype": str(t.dtype).replace("torch.", ""),
                 "values": [float(v) for v in t.flatten().double().tolist()]}


def randn(seed, *shape, grad=False):
    torch.manual_seed(seed)
    return torch.randn(*shape).requires_grad_(grad)


def cpu():
    model, flags = "unknown", []
    with open("/proc/cpuinfo") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                model = value.strip()
            elif key.strip() == "flags":
                flags = value.split()
    bf16 = sorted(f for f in flags if f in ("avx512_bf16", "amx_bf16", "amx_tile", "avx512f"))
    return {"model": model, "flags": bf16, "capability": torch.backends.cpu.get_cpu_capability()}


AC = dict(device_type="cpu", dtype=torch.bfloat16)

# One op at a time: output dtype and values.
x = randn(1, 2, 3, 8, 8)
w = randn(2, 4, 3, 3, 3)
b = randn(3, 4)
with torch.autocast(**AC):
    put("conv2d", F.conv2d(x, w, b, padding=1))
    put("conv2d_depthwise", F.conv2d(randn(4, 2, 4, 6, 6), randn(5, 4, 1, 3, 3), None, 2, 1, 1, 4))
    a, m = randn(6, 4, 6), randn(7, 5, 6)
    put("linear", F.linear(a, m, randn(8, 5)))
    put("matmul", torch.matmul(randn(9, 3, 4, 5), randn(10, 5, 6)))
    q, k, v = randn(11, 2, 2, 4, 8), randn(12, 2, 2, 4, 8), randn(13, 2, 2, 4, 8)
    put("sdpa", F.scaled_dot_product_attention(q, k, v))
    h = F.linear(a, m)                                  # bfloat16 activations
    put("layer_norm", F.layer_norm(h, [5], randn(14, 5), randn(15, 5)))
    put("softmax", torch.softmax(h, -1))
    put("log_softmax", torch.log_softmax(h, -1))
    put("gelu", F.gelu(h))
    c = F.conv2d(x, w)
    put("batch_norm_train", F.batch_norm(c, torch.zeros(4), torch.ones(4), randn(16, 4), randn(17, 4), True, 0.1, 1e-5))
    put("relu6", F.relu6(c))
    put("adaptive_avg_pool2d", F.adaptive_avg_pool2d(c, 1))
    logits = F.linear(randn(18, 6, 5), randn(19, 3, 5))
    target = torch.tensor([0, 2, 1, 1, 0, 2])
    put("cross_entropy", F.cross_entropy(logits, target))
    put("cross_entropy_smoothing", F.cross_entropy(logits, target, label_smoothing=0.1))
    put("bce_with_logits", F.binary_cross_entropy_with_logits(logits, randn(20, 6, 3).sigmoid()))
    put("mse_loss", F.mse_loss(logits, randn(21, 6, 3)))

# A small network trained one step under autocast: conv → batch norm → ReLU → pool →
# linear → cross-entropy, forward in autocast and backward outside it, as torch.autocast's
# documentation prescribes. The parameters and their gradients stay fp32.
cw, cb = randn(30, 8, 3, 3, 3, grad=True), randn(31, 8, grad=True)
gamma, beta = randn(32, 8, grad=True), randn(33, 8, grad=True)
lw, lb = randn(34, 5, 8, grad=True), randn(35, 5, grad=True)
images = randn(36, 4, 3, 10, 10)
labels = torch.tensor([4, 0, 3, 1])
with torch.autocast(**AC):
    c = F.conv2d(images, cw, cb, padding=1)
    n = F.batch_norm(c, torch.zeros(8), torch.ones(8), gamma, beta, True, 0.1, 1e-5)
    p = F.adaptive_avg_pool2d(F.relu(n), 1).flatten(1)
    z = F.linear(p, lw, lb)
    loss = F.cross_entropy(z, labels)
put("net/conv", c)
put("net/norm", n)
put("net/logits", z)
put("net/loss", loss)
loss.backward()
for name, t in [("conv_weight", cw), ("conv_bias", cb), ("gamma", gamma), ("beta", beta), ("linear_weight", lw),
                ("linear_bias", lb)]:
    put(f"net/grad_{name}", t.grad)

with open(os.path.join(HERE, "autocast.json"), "w") as f:
    json.dump({"made_on": cpu(), "torch": torch.__version__, "entries": out}, f, separators=(",", ":"))
print(f"wrote {len(out)} entries; made on {cpu()}")
