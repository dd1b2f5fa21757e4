"""Makes the zoo parity fixtures: for every torchvision model in Graft's zoo, its
state-dict key list (names, shapes, dtypes) in models.json, and in <model>.safetensors
the eval-mode logits and pooled features, and the train-mode logits and BatchNorm
running statistics after one forward pass, on weights and an input made from seeds.

Weights are not stored: both sides fill every state-dict entry in order from the
same seed with the same formula (see `fill`), and libtorch's generator gives Python
and Swift the same numbers. Run by hand with the Python torch of the very same wheel:

    ~/.cache/graft/ref-venv/bin/python Tests/VisionTests/Fixtures/make_fixtures.py [NAME ...]

With names, only those models are (re)made and the rest of models.json is kept. With
`--multiply-adds`, only multiply_adds.json (every model's count on its parity input).

Pinned: torch==2.15.0, torchvision==0.29.2, timm==1.0.31.
"""
import json
import math
import os

import torch
import torchvision
from safetensors.torch import save_file

assert torch.__version__.startswith("2.15.0") and torchvision.__version__.startswith("0.29.2")
torch.set_num_threads(2)
M = torchvision.models
HERE = os.path.dirname(os.path.abspath(__file__))

# name: (constructor, input size, key of the module whose *input* is Graft's pooled features)
MODELS = {
    "resnet18": (M.resnet18, 64, "fc"),
    "resnet34": (M.resnet34, 64, "fc"),
    "resnet50": (M.resnet50, 64, "fc"),
    "resnet101": (M.resnet101, 64, "fc"),
    "resnet152": (M.resnet152, 64, "fc"),
    "vgg11": (M.vgg11, 64, "classifier.5"),
    "vgg11_bn": (M.vgg11_bn, 64, "classifier.5"),
    "vgg13": (M.vgg13, 64, "classifier.5"),
    "vgg13_bn": (M.vgg13_bn, 64, "classifier.5"),
    "vgg16": (M.vgg16, 64, "classifier.5"),
    "vgg16_bn": (M.vgg16_bn, 64, "classifier.5"),
    "vgg19": (M.vgg19, 64, "classifier.5"),
    "vgg19_bn": (M.vgg19_bn, 64, "classifier.5"),
    "inception_v3": (lambda: M.inception_v3(init_weights=False, aux_logits=True, transform_input=True), 299, "dropout"),
    "mobilenet_v2": (M.mobilenet_v2, 64, "classifier.0"),
    "mobilenet_v3_small": (M.mobilenet_v3_small, 64, "classifier.2"),
    "mobilenet_v3_large": (M.mobilenet_v3_large, 64, "classifier.2"),
    "efficientnet_b0": (M.efficientnet_b0, 64, "classifier.0"),
    "efficientnet_b1": (M.efficientnet_b1, 64, "classifier.0"),
    "efficientnet_b2": (M.efficientnet_b2, 64, "classifier.0"),
    "efficientnet_b3": (M.efficientnet_b3, 64, "classifier.0"),
    "efficientnet_b4": (M.efficientnet_b4, 64, "classifier.0"),
    "efficientnet_b5": (M.efficientnet_b5, 64, "classifier.0"),
    "efficientnet_b6": (M.efficientnet_b6, 64, "classifier.0"),
    "efficientnet_b7": (M.efficientnet_b7, 64, "classifier.0"),
    "densenet121": (M.densenet121, 64, "classifier"),
    "densenet161": (M.densenet161, 64, "classifier"),
    "densenet169": (M.densenet169, 64, "classifier"),
    "densenet201": (M.densenet201, 64, "classifier"),
    "resnext50_32x4d": (M.resnext50_32x4d, 64, "fc"),
    "resnext101_32x8d": (M.resnext101_32x8d, 64, "fc"),
    "resnext101_64x4d": (M.resnext101_64x4d, 64, "fc"),
    "wide_resnet50_2": (M.wide_resnet50_2, 64, "fc"),
    "wide_resnet101_2": (M.wide_resnet101_2, 64, "fc"),
    "efficientnet_v2_s": (M.efficientnet_v2_s, 64, "classifier.0"),
    "efficientnet_v2_m": (M.efficientnet_v2_m, 64, "classifier.0"),
    "efficientnet_v2_l": (M.efficientnet_v2_l, 64, "classifier.0"),
    "regnet_y_400mf": (M.regnet_y_400mf, 64, "fc"),
    "regnet_y_800mf": (M.regnet_y_800mf, 64, "fc"),
    "regnet_y_1_6gf": (M.regnet_y_1_6gf, 64, "fc"),
    "regnet_y_3_2gf": (M.regnet_y_3_2gf, 64, "fc"),
    "regnet_y_8gf": (M.regnet_y_8gf, 64, "fc"),
    "regnet_y_16gf": (M.regnet_y_16gf, 64, "fc"),
    "regnet_y_32gf": (M.regnet_y_32gf, 64, "fc"),
    "regnet_y_128gf": (M.regnet_y_128gf, 64, "fc"),
    "regnet_x_400mf": (M.regnet_x_400mf, 64, "fc"),
    "regnet_x_800mf": (M.regnet_x_800mf, 64, "fc"),
    "regnet_x_1_6gf": (M.regnet_x_1_6gf, 64, "fc"),
    "regnet_x_3_2gf": (M.regnet_x_3_2gf, 64, "fc"),
    "regnet_x_8gf": (M.regnet_x_8gf, 64, "fc"),
    "regnet_x_16gf": (M.regnet_x_16gf, 64, "fc"),
    "regnet_x_32gf": (M.regnet_x_32gf, 64, "fc"),
    "convnext_tiny": (M.convnext_tiny, 64, "classifier"),
    "convnext_small": (M.convnext_small, 64, "classifier"),
    "convnext_base": (M.convnext_base, 64, "classifier"),
    "convnext_large": (M.convnext_large, 64, "classifier"),
    # torchvision's ViT runs only at the size it was built for (224 by default).
    "vit_b_16": (M.vit_b_16, 224, "heads"),
    "vit_b_32": (M.vit_b_32, 224, "heads"),
    "vit_l_16": (M.vit_l_16, 224, "heads"),
    "vit_l_32": (M.vit_l_32, 224, "heads"),
    "vit_h_14": (M.vit_h_14, 224, "heads"),
    # 64 px: the first stage's 16 x 16 map is padded to 7-px windows and shifted.
    "swin_t": (M.swin_t, 64, "head"),
    "swin_s": (M.swin_s, 64, "head"),
    "swin_b": (M.swin_b, 64, "head"),
    "swin_v2_t": (M.swin_v2_t, 64, "head"),
    "swin_v2_s": (M.swin_v2_s, 64, "head"),
    "swin_v2_b": (M.swin_v2_b, 64, "head"),
    # MaxViT's partitions fix its input at 224 (or 448, ...).
    "maxvit_t": (M.maxvit_t, 224, "classifier.2"),
}
# timm models (timm 1.0.31) under timm's names; headless ones get a 1000-class head here
# (as Graft's zoo makes them). DINOv2 and DeiT III run below their native size with
# dynamic_img_size, so the bicubic position-embedding resampling is checked too.
import timm

assert timm.__version__ == "1.0.31"


def timm_model(name, dynamic=False):
    def make():
        classes = timm.create_model(name, pretrained=False).pretrained_cfg["num_classes"] or 1000
        extra = {"dynamic_img_size": True} if dynamic else {}
        return timm.create_model(name, pretrained=False, num_classes=classes, **extra)
    return make


MODELS.update({
    "vit_small_patch14_dinov2.lvd142m": (timm_model("vit_small_patch14_dinov2.lvd142m", True), 112, "head"),
    "vit_base_patch14_dinov2.lvd142m": (timm_model("vit_base_patch14_dinov2.lvd142m", True), 112, "head"),
    "vit_small_patch14_reg4_dinov2.lvd142m": (timm_model("vit_small_patch14_reg4_dinov2.lvd142m", True), 112, "head"),
    "vit_base_patch16_clip_224.openai": (timm_model("vit_base_patch16_clip_224.openai"), 224, "head"),
    "vit_base_patch16_224.augreg_in21k_ft_in1k": (timm_model("vit_base_patch16_224.augreg_in21k_ft_in1k"), 224, "head"),
    "deit3_small_patch16_224.fb_in1k": (timm_model("deit3_small_patch16_224.fb_in1k", True), 160, "head"),
    "convnext_tiny.fb_in22k": (timm_model("convnext_tiny.fb_in22k"), 64, "head.norm"),
    "convnext_tiny.fb_in22k_ft_in1k": (timm_model("convnext_tiny.fb_in22k_ft_in1k"), 64, "head.norm"),
})

# A real photo through each model's catalogue preprocessing (torchvision's DEFAULT weights'
# eval transform, timm's pretrained_cfg), applied with transforms v2 on the uint8 image as
# Graft does: `photo_probs`, the softmax of the eval-mode logits. vit_h_14's DEFAULT runs at
# 518 px, a size torchvision's ViT must be built for: left out.
from torchvision.io import decode_png, read_file
from torchvision.models import get_model_weights
from torchvision.transforms import InterpolationMode
from torchvision.transforms.v2 import functional as TF

PHOTO = os.path.join(os.environ.get("GRAFT_CACHE", os.path.expanduser("~/.cache/graft")), "data/photos/chelsea.png")
NO_PHOTO = {"vit_h_14"}


def eval_input(name):
    if "." in name:  # timm: crop, resize = floor(crop / crop_pct), bicubic
        cfg = timm.create_model(name, pretrained=False).pretrained_cfg
        crop = cfg["input_size"][1]
        resize, interp, mean, std = math.floor(crop / cfg["crop_pct"]), InterpolationMode.BICUBIC, cfg["mean"], cfg["std"]
    else:
        t = get_model_weights(name).DEFAULT.transforms()
        crop, resize, interp, mean, std = t.crop_size[0], t.resize_size[0], t.interpolation, t.mean, t.std
    img = decode_png(read_file(PHOTO))
    img = TF.resize(img, [resize], interpolation=interp, antialias=True)
    img = TF.center_crop(img, [crop])
    img = TF.to_dtype(img, torch.float32, scale=True)
    return TF.normalize(img, mean=list(mean), std=list(std)).unsqueeze(0)


# Derived buffers the models compute themselves (index tables, log-spaced coordinates).
DERIVED = ("relative_position_index", "relative_coords_table")


def fill(model, seed, gain):
    """Every state-dict entry, in order, from one seeded stream (mirrored in Swift).
    Scales keep the random networks' activations in a sane range: `gain` 2 (He) for
    plain VGG, 1 with BatchNorm, whose weights sit around 0.5."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for key, t in model.state_dict().items():
            if key.endswith(DERIVED):
                continue
            if key.endswith("num_batches_tracked"):
                t.zero_()
            elif key.endswith("running_var"):
                t.copy_(torch.rand(t.shape) + 0.5)
            elif key.endswith("running_mean"):
                t.copy_(torch.randn(t.shape) * 0.1)
            elif t.dim() >= 2:
                t.copy_(torch.randn(t.shape) * math.sqrt(gain / t[0].numel()))
            elif key.endswith("weight"):
                t.copy_(torch.randn(t.shape) * 0.1 + 0.5)
            else:
                t.copy_(torch.randn(t.shape) * 0.1)


import sys

if sys.argv[1:] == ["--multiply-adds"]:
    # multiply_adds.json: each model's multiply-adds on the parity input (2 images at its
    # fixture size, eval mode), by torch's FlopCounterMode (2 FLOPs per multiply-add).
    # Gradients stay on: under no_grad nn.MultiheadAttention takes its fused fast path,
    # whose products FlopCounterMode does not see (torchvision's ViTs would lose 36 %).
    from torch.utils.flop_counter import FlopCounterMode
    counts = {}
    for name, (make, size, _) in MODELS.items():
        model = make().eval()
        with FlopCounterMode(display=False) as counter:
            model(torch.zeros(2, 3, size, size))
        counts[name] = counter.get_total_flops() // 2
        print(name, counts[name] / 1e9)
    with open(os.path.join(HERE, "multiply_adds.json"), "w") as f:
        json.dump(counts, f, indent=1, sort_keys=True)
    sys.exit(0)

index = {}
only = set(sys.argv[1:])
if only and os.path.exists(os.path.join(HERE, "models.json")):
    with open(os.path.join(HERE, "models.json")) as f:
        index = json.load(f)
for seed, (name, (make, size, feature_key)) in enumerate(MODELS.items()):
    if only and name not in only:
        continue
    seed = 1000 * (seed + 1)
    model = make()
    bn_keys = [k[: -len(".running_mean")] for k in model.state_dict() if k.endswith("running_mean")]
    gain = 1.0 if bn_keys else 2.0
    fill(model, seed, gain)
    sd = model.state_dict()
    index[name] = {
        "seed": seed,
        "gain": gain,
        "input": size,
        "keys": [[k, list(t.shape), str(t.dtype).replace("torch.", "")] for k, t in sd.items()],
        "bn": [bn_keys[0], bn_keys[-1]] if bn_keys else [],
    }
    torch.manual_seed(seed + 1)
    x = torch.randn(2, 3, size, size)
    captured = {}
    module = model.get_submodule(feature_key)
    module.register_forward_pre_hook(lambda m, args: captured.__setitem__("features", args[0].detach().flatten(1).clone()))
    out = {}
    model.eval()
    with torch.no_grad():
        out["logits"] = model(x)
        out["features"] = captured["features"]
        model.train()
        torch.manual_seed(seed + 2)
        train = model(x)
        if isinstance(train, tuple):
            out["train_logits"], out["train_aux"] = train
        else:
            out["train_logits"] = train
        if name not in NO_PHOTO:
            model.eval()
            out["photo_probs"] = model(eval_input(name)).softmax(dim=1)
        for i, bn in enumerate(index[name]["bn"]):
            out[f"bn{i}_running_mean"] = sd[bn + ".running_mean"]
            out[f"bn{i}_running_var"] = sd[bn + ".running_var"]
    save_file({k: v.contiguous() for k, v in out.items()}, os.path.join(HERE, f"{name}.safetensors"))
    print(name, "max |logit| %.3g, |features| %.3g" % (float(out["logits"].abs().max()), float(out["features"].abs().max())))

with open(os.path.join(HERE, "models.json"), "w") as f:
    json.dump(index, f, separators=(",", ":"))
