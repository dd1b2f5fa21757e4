"""Makes tta.json: test-time augmentation by torchvision on a real photo.

ResNet-18 with the zoo fixtures' seeded fill (seed 1000, gain 1: Tests/VisionTests/
Fixtures/make_fixtures.py's `fill`, mirrored in Tests/Support/Fill.swift) classifies
scikit-image's chelsea.png through its catalogue preprocessing (resize 256, crop 224,
bilinear, antialias) three ways, with transforms v2 on the uint8 image: the center crop
("none"), the center crop and its mirror averaged ("flip"), and v2.FiveCrop(224) of the
resized image averaged ("five-crop"); each the mean softmax.

    ~/.cache/graft/ref-venv/bin/python Tests/TransferTests/Fixtures/make_tta_fixtures.py

Pinned: torch==2.15.0, torchvision==0.29.2.
"""
import json
import math
import os

import torch
import torchvision
from torchvision.io import decode_png, read_file
from torchvision.transforms import InterpolationMode
from torchvision.transforms.v2 import functional as TF

assert torch.__version__.startswith("2.15.0") and torchvision.__version__.startswith("0.29.2")
HERE = os.path.dirname(os.path.abspath(__file__))
PHOTO = os.path.join(os.environ.get("GRAFT_CACHE", os.path.expanduser("~/.cache/graft")), "data/photos/chelsea.png")


def fill(model, seed, gain):
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
                t.copy_(torch.randn(t.shape) * math.sqrt(gain / t[0].numel()))
            elif key.endswith("weight"):
                t.copy_(torch.randn(t.shape) * 0.1 + 0.5)
            else:
                t.copy_(torch.randn(t.shape) * 0.1)


model = torchvision.models.resnet18().eval()
fill(model, 1000, 1.0)
mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
image = TF.resize(decode_png(read_file(PHOTO)), [256], interpolation=InterpolationMode.BILINEAR, antialias=True)


def prepare(x):
    return TF.normalize(TF.to_dtype(x, torch.float32, scale=True), mean=mean, std=std)


with torch.no_grad():
    center = prepare(TF.center_crop(image, [224])).unsqueeze(0)
    none = model(center).softmax(1)[0]
    flip = (model(center).softmax(1) + model(center.flip(-1)).softmax(1))[0] / 2
    crops = torch.stack([prepare(c) for c in TF.five_crop(image, [224])])
    five = model(crops).softmax(1).mean(0)
out = {"none": none.double().tolist(), "flip": flip.double().tolist(), "five-crop": five.double().tolist()}
with open(os.path.join(HERE, "tta.json"), "w") as f:
    json.dump(out, f)
print("top-1:", {k: int(torch.tensor(v).argmax()) for k, v in out.items()},
      "max:", {k: max(v) for k, v in out.items()})
