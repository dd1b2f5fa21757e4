"""Makes layer_decay.json: timm's layer-wise learning-rate decay for every family Graft
offers it on, per parameter: the learning-rate scale and the weight decay that timm's
`param_groups_layer_decay(model, weight_decay=0.05, no_weight_decay_list=getattr(model, "no_weight_decay", set)(),
layer_decay=0.75)` gives it (as `create_optimizer_v2(..., layer_decay=0.75)` calls it).

timm's own architectures (the zoo's timm entries) are asked directly. For torchvision's
ConvNeXt, ViT and Swin (v1 and v2), which timm has under other parameter names, each
torchvision name is translated to the name of the same tensor in timm's equivalent model
(`convnext_tiny`, `vit_base_patch16_224`, `swin_tiny_patch4_window7_224`,
`swinv2_tiny_window8_256`) and checked there (the name exists, with the same shape), and
timm's answer for that tensor is recorded under the torchvision name. The only tensor
without a same-shaped twin is Swin v2's `attn.qkv.bias` (timm splits it into `q_bias` and
`v_bias`); it takes `q_bias`'s answer, a 1-d tensor of the same block. ConvNeXt's layer
scale is C×1×1 in torchvision and C in timm (`gamma`): timm's answer for it (no weight decay,
as a 1-d tensor) is recorded.

The classifier is replaced by a fresh one of 5 classes first, as Graft grafts its head.

    ~/.cache/graft/ref-venv/bin/python Tests/TransferTests/Fixtures/make_layer_decay_fixtures.py

Pinned: torch==2.15.0, torchvision==0.29.2, timm==1.0.31.
"""
import json
import os
import re

import timm
import torch
import torchvision
from timm.optim._param_groups import param_groups_layer_decay

assert torch.__version__.startswith("2.15.0") and timm.__version__ == "1.0.31"
assert torchvision.__version__.startswith("0.29.2")
HERE = os.path.dirname(os.path.abspath(__file__))
DECAY, WD = 0.75, 0.05


def timm_answer(model):
    """name -> [lr_scale, weight_decay] from timm's own grouping."""
    # create_optimizer_v2 passes model.no_weight_decay() where the model has one.
    groups = param_groups_layer_decay(model, weight_decay=WD, no_weight_decay_list=getattr(model, "no_weight_decay", set)(),
                                      layer_decay=DECAY)
    by_param = {}
    for g in groups:
        for p in g["params"]:
            by_param[id(p)] = [g["lr_scale"], g["weight_decay"]]
    return {n: by_param[id(p)] for n, p in model.named_parameters()}


def convnext_name(n):
    n = re.sub(r"^features\.0\.", "stem.", n)
    m = re.match(r"^features\.(\d+)\.(.*)$", n)
    if m:
        i, rest = int(m.group(1)), m.group(2)
        if i % 2 == 1:  # a stage's blocks
            b, tail = rest.split(".", 1)
            tail = {"layer_scale": "gamma"}.get(tail, tail)
            tail = re.sub(r"^block\.0\.", "conv_dw.", tail)
            tail = re.sub(r"^block\.2\.", "norm.", tail)
            tail = re.sub(r"^block\.3\.", "mlp.fc1.", tail)
            tail = re.sub(r"^block\.5\.", "mlp.fc2.", tail)
            return f"stages.{(i - 1) // 2}.blocks.{b}.{tail}"
        return f"stages.{i // 2}.downsample.{rest}"
    n = re.sub(r"^classifier\.0\.", "head.norm.", n)
    return re.sub(r"^classifier\.2\.", "head.fc.", n)


def vit_name(n):
    fixed = {"class_token": "cls_token", "encoder.pos_embedding": "pos_embed"}
    if n in fixed:
        return fixed[n]
    n = re.sub(r"^conv_proj\.", "patch_embed.proj.", n)
    n = re.sub(r"^encoder\.ln\.", "norm.", n)
    n = re.sub(r"^heads\.head\.", "head.", n)
    m = re.match(r"^encoder\.layers\.encoder_layer_(\d+)\.(.*)$", n)
    if m:
        tail = m.group(2)
        for a, b in [("ln_1.", "norm1."), ("ln_2.", "norm2."), ("self_attention.in_proj_weight", "attn.qkv.weight"),
                     ("self_attention.in_proj_bias", "attn.qkv.bias"), ("self_attention.out_proj.", "attn.proj."),
                     ("mlp.0.", "mlp.fc1."), ("mlp.3.", "mlp.fc2.")]:
            if tail.startswith(a):
                tail = b + tail[len(a):]
        return f"blocks.{m.group(1)}.{tail}"
    return n


def swin_name(n):
    n = re.sub(r"^features\.0\.0\.", "patch_embed.proj.", n)
    n = re.sub(r"^features\.0\.2\.", "patch_embed.norm.", n)
    n = re.sub(r"^head\.", "head.fc.", n)
    m = re.match(r"^features\.(\d+)\.(.*)$", n)
    if m:
        i, rest = int(m.group(1)), m.group(2)
        if i % 2 == 1:
            b, tail = rest.split(".", 1)
            tail = re.sub(r"^mlp\.0\.", "mlp.fc1.", tail)
            tail = re.sub(r"^mlp\.3\.", "mlp.fc2.", tail)
            return f"layers.{(i - 1) // 2}.blocks.{b}.{tail}"
        # torchvision's PatchMerging after stage s is timm's downsample at the start of stage s + 1.
        return f"layers.{i // 2}.downsample.{rest}"
    return n


def translated(tv_model, timm_model, rename, loose=()):
    answers = timm_answer(timm_model)
    shapes = {n: p.shape for n, p in timm_model.named_parameters()}
    out = {}
    for n, p in tv_model.named_parameters():
        t = rename(n)
        for suffix, twin in loose:
            if t.endswith(suffix):
                t = t[: -len(suffix)] + twin
                break
        else:
            # torchvision's ConvNeXt keeps its layer scale as C×1×1, timm's as C: the same numbers.
            same = shapes.get(t) == p.shape or (t.endswith(".gamma") and shapes.get(t).numel() == p.numel())
            assert same, f"{n} -> {t}: {shapes.get(t)} vs {tuple(p.shape)}"
        assert t in answers, f"{n} -> {t} not in timm's model"
        out[n] = answers[t]
    assert len(out) == len(answers) or loose, f"{len(out)} torchvision tensors, {len(answers)} timm"
    return out


torch.manual_seed(0)
M = torchvision.models
fixture = {"layer_decay": DECAY, "weight_decay": WD, "classes": 5, "models": {}}

pairs = {
    "convnext_tiny": (M.convnext_tiny(num_classes=5), "convnext_tiny", convnext_name, ()),
    "vit_b_16": (M.vit_b_16(num_classes=5), "vit_base_patch16_224", vit_name, ()),
    "swin_t": (M.swin_t(num_classes=5), "swin_tiny_patch4_window7_224", swin_name, ()),
    "swin_v2_t": (M.swin_v2_t(num_classes=5), "swinv2_tiny_window8_256", swin_name, (("attn.qkv.bias", "attn.q_bias"),)),
}
for name, (tv, timm_name, rename, loose) in pairs.items():
    fixture["models"][name] = translated(tv, timm.create_model(timm_name, num_classes=5), rename, loose)

for name in ["convnext_tiny.fb_in22k", "vit_base_patch16_224.augreg_in21k_ft_in1k", "vit_small_patch14_reg4_dinov2.lvd142m",
             "vit_base_patch16_clip_224.openai", "deit3_small_patch16_224.fb_in1k"]:
    fixture["models"][name] = timm_answer(timm.create_model(name, pretrained=False, num_classes=5))

with open(os.path.join(HERE, "layer_decay.json"), "w") as f:
    json.dump(fixture, f, indent=0, sort_keys=True)
for name, answer in fixture["models"].items():
    print(name, len(answer), "tensors,", len({v[0] for v in answer.values()}), "scales")
