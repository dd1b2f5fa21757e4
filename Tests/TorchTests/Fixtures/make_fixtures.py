"""Makes ops.json: PyTorch's outputs and gradients for the recipes in TorchParityTests.swift.

Inputs are not stored: both sides make them from the same seeds (libtorch's CPU
generator gives Python and C++ the same numbers bit for bit). Run by hand when the
reference changes, with the Python `torch` from the very same wheel Graft links:

    ~/.cache/graft/ref-venv/bin/python Tests/TorchTests/Fixtures/make_fixtures.py

Pinned: torch==2.15.0 (CUDA 13.2 wheel from PyPI).
"""
import json
import os

import torch
import torch.nn.functional as F

assert torch.__version__.startswith("2.15.0"), torch.__version__
torch.set_num_threads(2)
out = {}


def put(name, t):
    t = t.detach()
    entry = {"shape": list(t.shape), "dtype": str(t.dtype).replace("torch.", "")}
    if t.dtype == torch.bool:
        entry["values"] = [1.0 if v else 0.0 for v in t.flatten().tolist()]
    else:
        entry["values"] = [float(v) for v in t.flatten().double().tolist()]
    out[name] = entry


def randn(seed, *shape, grad=False):
    torch.manual_seed(seed)
    t = torch.randn(*shape)
    return t.requires_grad_(grad)


# RNG: the same seed gives the same draws as libtorch in Swift.
torch.manual_seed(0)
put("rng/randn", torch.randn(5))
put("rng/rand", torch.rand(5))
put("rng/randint", torch.randint(0, 10, (6,)))
put("rng/randperm", torch.randperm(7))
g = torch.Generator().manual_seed(3)
put("rng/generator_normal", torch.empty(4).normal_(0.0, 2.0, generator=g))
put("rng/generator_uniform", torch.empty(4).uniform_(-1.0, 1.0, generator=g))

# Binary ops with broadcasting, and their gradients.
a = randn(1, 3, 4, grad=True)
b = randn(2, 4, grad=True)
put("binary/add", a + b)
put("binary/sub", a - b)
put("binary/mul", a * b)
put("binary/div", a / b)
put("binary/pow", (a.abs() + 0.5).pow(b))
put("binary/maximum", torch.maximum(a, b))
put("binary/scalar", 2.5 - a * 3 + a / 4)
loss = (a * b + a / (b.abs() + 1) + (a.abs() + 0.5).pow(b)).sum()
loss.backward()
put("binary/grad_a", a.grad)
put("binary/grad_b", b.grad)
put("binary/lt", a < b)

# Unary functions and their gradients: d/dx sum(f(x) * w).
x = randn(3, 2, 5)
w = randn(4, 2, 5)
unary = {
    "relu": F.relu, "relu6": F.relu6, "silu": F.silu, "gelu": F.gelu,
    "gelu_tanh": lambda v: F.gelu(v, approximate="tanh"), "hardswish": F.hardswish,
    "hardsigmoid": F.hardsigmoid, "sigmoid": torch.sigmoid, "tanh": torch.tanh, "exp": torch.exp,
    "log": lambda v: torch.log(v.abs() + 0.1), "sqrt": lambda v: torch.sqrt(v.abs() + 0.1),
    "clamp": lambda v: v.clamp(-0.5, 0.7),
}
for name, f in unary.items():
    xi = (x * 4).detach().requires_grad_(True)
    y = f(xi)
    (y * w).sum().backward()
    put(f"unary/{name}", y)
    put(f"unary/{name}_grad", xi.grad)

# Reductions.
r = randn(5, 3, 4, 6)
put("reduce/sum_all", r.sum())
put("reduce/sum_dim", r.sum(dim=1))
put("reduce/mean_keep", r.mean(dim=(0, 2), keepdim=True))
v, i = r.max(dim=2)
put("reduce/max_values", v)
put("reduce/max_indices", i)
v, i = r.min(dim=0, keepdim=True)
put("reduce/min_values", v)
put("reduce/min_indices", i)
put("reduce/argmax", r.argmax(dim=-1))
put("reduce/argmax_all", r.argmax())
put("reduce/var", r.var(dim=1))
put("reduce/std", r.std())
put("reduce/norm", torch.linalg.vector_norm(r, 2, dim=(1, 2)))
put("reduce/logsumexp", r.logsumexp(dim=2))
v, i = r.topk(3, dim=-1)
put("reduce/topk_values", v)
put("reduce/topk_indices", i)
put("reduce/softmax", r.softmax(dim=1))
put("reduce/log_softmax", r.log_softmax(dim=-1))
put("reduce/cumsum", r.cumsum(dim=2))

# Matmul and linear, with gradients.
m1 = randn(6, 2, 3, 5, grad=True)
m2 = randn(7, 5, 4, grad=True)
mm = m1 @ m2
(mm * mm).sum().backward()
put("matmul/out", mm)
put("matmul/grad_a", m1.grad)
put("matmul/grad_b", m2.grad)
li = randn(8, 4, 6, grad=True)
lw = randn(9, 3, 6, grad=True)
lb = randn(10, 3, grad=True)
lo = F.linear(li, lw, lb)
(lo.tanh()).sum().backward()
put("linear/out", lo)
put("linear/grad_input", li.grad)
put("linear/grad_weight", lw.grad)
put("linear/grad_bias", lb.grad)

# Convolutions: stride, padding, dilation, groups; gradients of all three inputs.
convs = {
    "basic": dict(stride=1, padding=0, dilation=1, groups=1, cin=3, cout=4, k=3),
    "stride2_pad1": dict(stride=2, padding=1, dilation=1, groups=1, cin=3, cout=5, k=3),
    "dilation2": dict(stride=1, padding=2, dilation=2, groups=1, cin=2, cout=3, k=3),
    "depthwise": dict(stride=2, padding=2, dilation=1, groups=4, cin=4, cout=4, k=5),
    "grouped": dict(stride=1, padding=0, dilation=1, groups=2, cin=4, cout=6, k=1),
}
for seed, (name, c) in enumerate(convs.items()):
    ci = randn(100 + seed, 2, c["cin"], 9, 9, grad=True)
    cw = randn(200 + seed, c["cout"], c["cin"] // c["groups"], c["k"], c["k"], grad=True)
    cb = randn(300 + seed, c["cout"], grad=True)
    co = F.conv2d(ci, cw, cb, c["stride"], c["padding"], c["dilation"], c["groups"])
    (co * co).sum().backward()
    put(f"conv/{name}", co)
    put(f"conv/{name}_grad_input", ci.grad)
    put(f"conv/{name}_grad_weight", cw.grad)
    put(f"conv/{name}_grad_bias", cb.grad)
# Channels-last gives the same values with NHWC strides.
cl = randn(11, 2, 3, 8, 8).contiguous(memory_format=torch.channels_last)
cwl = randn(12, 4, 3, 3, 3)
col = F.conv2d(cl, cwl, padding=1)
put("conv/channels_last", col)
out["conv/channels_last_strides"] = {"shape": [4], "dtype": "int64",
                                     "values": [float(s) for s in col.stride()]}

# Padding (asymmetric, as TF "SAME" needs).
p = randn(13, 1, 2, 4, 5)
put("pad/asymmetric", F.pad(p, (0, 1, 2, 0), value=0.0))
put("pad/value", F.pad(p, (1, 1, 1, 1), value=-1.5))

# Batch norm: training (batch statistics, running-statistics update) and eval.
bx = randn(14, 4, 3, 5, 5, grad=True)
bw = randn(15, 3, grad=True)
bb = randn(16, 3, grad=True)
rm = randn(17, 3)
rv = randn(18, 3).abs() + 0.5
rm0, rv0 = rm.clone(), rv.clone()
bo = F.batch_norm(bx, rm, rv, bw, bb, training=True, momentum=0.1, eps=1e-5)
(bo * bo * torch.arange(3.0).view(1, 3, 1, 1)).sum().backward()
put("bn/train_out", bo)
put("bn/train_running_mean", rm)
put("bn/train_running_var", rv)
put("bn/train_grad_input", bx.grad)
put("bn/train_grad_weight", bw.grad)
put("bn/train_grad_bias", bb.grad)
put("bn/eval_out", F.batch_norm(bx, rm0, rv0, bw, bb, training=False, eps=1e-3))

# Pooling.
q = randn(19, 2, 3, 9, 9, grad=True)
mp = F.max_pool2d(q, 3, stride=2, padding=1, ceil_mode=True)
ap = F.avg_pool2d(q, 3, stride=2, padding=1, count_include_pad=False)
aap = F.adaptive_avg_pool2d(q, (4, 3))
(mp.sum() + (ap * 2).sum() + (aap * 3).sum()).backward()
put("pool/max", mp)
put("pool/avg", ap)
put("pool/adaptive_avg", aap)
put("pool/grad", q.grad)

# Dropout draws from the global generator.
torch.manual_seed(20)
put("dropout/train", F.dropout(torch.ones(4, 6), p=0.3, training=True))

# Interpolation.
im = randn(21, 1, 2, 7, 9)
put("interp/nearest", F.interpolate(im, size=(4, 5), mode="nearest"))
put("interp/bilinear", F.interpolate(im, size=(11, 6), mode="bilinear", align_corners=False))
put("interp/bilinear_corners", F.interpolate(im, size=(11, 6), mode="bilinear", align_corners=True))
put("interp/bilinear_aa", F.interpolate(im, size=(3, 4), mode="bilinear", antialias=True))
put("interp/bicubic", F.interpolate(im, size=(5, 13), mode="bicubic"))
put("interp/scale", F.interpolate(im, scale_factor=(2.0, 0.5), mode="nearest"))

# Losses.
logits = randn(22, 6, 4, grad=True)
target = torch.tensor([0, 3, 1, 1, 2, 3])
cw_ = torch.tensor([1.0, 2.0, 0.5, 1.5])
losses = {
    "plain": F.cross_entropy(logits, target),
    "weighted": F.cross_entropy(logits, target, weight=cw_),
    "smoothing": F.cross_entropy(logits, target, label_smoothing=0.1),
    "weighted_smoothing": F.cross_entropy(logits, target, weight=cw_, label_smoothing=0.2),
    "ignore": F.cross_entropy(logits, torch.tensor([0, -100, 1, 1, -100, 3])),
    "sum": F.cross_entropy(logits, target, reduction="sum"),
    "probabilities": F.cross_entropy(logits, torch.softmax(randn(23, 6, 4), 1)),
    "nll": F.nll_loss(logits.log_softmax(1), target, weight=cw_),
}
total = 0
for name, value in losses.items():
    put(f"loss/{name}", value)
    total = total + value
total.backward()
put("loss/grad", logits.grad)
put("loss/none", F.cross_entropy(logits, target, reduction="none"))

# Indexing and shape.
s = randn(24, 4, 5, 6)
put("index/slice", s[1:3, ::2, -1])
put("index/select", s[2])
put("index/ellipsis", s[..., 1])
put("index/mask", s[s > 0.5])
put("index/index_select", s.index_select(1, torch.tensor([4, 0, 2])))
put("index/gather", s.gather(2, torch.tensor([[[0, 5], [1, 1], [2, 3], [4, 4], [5, 0]]] * 4)))
put("index/cat", torch.cat([s, s * 2], dim=1))
put("index/stack", torch.stack([s[0], s[1]], dim=-1))
put("index/where", torch.where(s > 0, s, s * 0.1))
put("index/permute", s.permute(2, 0, 1).contiguous())
put("index/transpose_flat", s.transpose(0, 2).flatten(1))
s2 = s.clone()
s2[1, :, 2:4] = 7.0
put("index/assign", s2)

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ops.json")
with open(path, "w") as f:
    json.dump(out, f, separators=(",", ":"))
print(f"wrote {len(out)} fixtures to {path}")
