"""Makes the torchvision parity fixtures for ImageDataTests: three small synthetic uint8
CHW images (gradients plus noise from a fixed numpy seed) and, in transforms.safetensors,
what torchvision.transforms.v2 gives on them.

Each output is stored under "<case>/<image>/<seed>": `torch.manual_seed(seed)` runs right
before the call, so Swift reproduces it with `Generator(seed: seed)`. The images are stored
as "image/<name>"; "rgb" is also written as rgb.png, to check loadImage. Run by hand with
the Python torch of the very same wheel:

    ~/.cache/graft/ref-venv/bin/python Tests/ImageDataTests/Fixtures/make_fixtures.py

Pinned: torch==2.15.0, torchvision==0.29.2.
"""
import os

import numpy as np
import PIL.Image
import torch
import torchvision
from safetensors.torch import save_file
from torchvision.transforms import InterpolationMode as IM
from torchvision.transforms import v2
from torchvision.transforms._presets import ImageClassification

assert torch.__version__.startswith("2.15.0") and torchvision.__version__.startswith("0.29.2")
torch.set_num_threads(2)
HERE = os.path.dirname(os.path.abspath(__file__))


def synthetic(channels, height, width, rng):
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    planes = [
        255 * x / (width - 1),
        255 * y / (height - 1),
        127.5 + 127.5 * np.sin(x / 4.0 + y / 6.0),
    ][:channels]
    image = np.stack(planes) + rng.normal(0, 20, (channels, height, width))
    return torch.from_numpy(np.clip(np.rint(image), 0, 255).astype(np.uint8))


rng = np.random.default_rng(0)
IMAGES = {
    "rgb": synthetic(3, 37, 53, rng),  # landscape
    "gray": synthetic(1, 41, 29, rng),  # portrait
    "square": synthetic(3, 20, 20, rng),  # smaller than the crops; square for rot90
}

MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
FIXED = [0]
SEEDS = list(range(6))

# name: (transform, images, seeds). Swift's table in ParityTests.swift uses the same names.
CASES = {
    "resize_bilinear": (v2.Resize(24), ["rgb", "gray"], FIXED),
    "resize_bilinear_noaa": (v2.Resize(24, antialias=False), ["rgb", "gray"], FIXED),
    "resize_bilinear_up": (v2.Resize(45), ["rgb", "square"], FIXED),
    "resize_bicubic": (v2.Resize(24, IM.BICUBIC), ["rgb", "gray"], FIXED),
    "resize_bicubic_noaa": (v2.Resize(24, IM.BICUBIC, antialias=False), ["rgb"], FIXED),
    "resize_bicubic_up": (v2.Resize(45, IM.BICUBIC), ["rgb"], FIXED),
    "resize_nearest": (v2.Resize(24, IM.NEAREST), ["rgb", "gray"], FIXED),
    "resize_nearest_up": (v2.Resize(45, IM.NEAREST), ["square"], FIXED),
    "resize_max_size": (v2.Resize(30, max_size=40), ["rgb", "gray"], FIXED),
    "center_crop": (v2.CenterCrop(24), ["rgb", "gray", "square"], FIXED),
    "center_crop_rect": (v2.CenterCrop([20, 31]), ["rgb"], FIXED),
    "center_crop_pad": (v2.CenterCrop([45, 33]), ["rgb", "gray"], FIXED),
    "random_resized_crop": (v2.RandomResizedCrop(32), ["rgb", "gray"], SEEDS),
    "random_resized_crop_bicubic": (v2.RandomResizedCrop(32, interpolation=IM.BICUBIC), ["rgb"], SEEDS[:3]),
    "random_resized_crop_fallback": (v2.RandomResizedCrop(24, scale=(0.9, 1.0), ratio=(3.0, 4.0)), ["rgb", "gray"], FIXED),
    "horizontal_flip": (v2.RandomHorizontalFlip(), ["rgb"], SEEDS[:4]),
    "vertical_flip": (v2.RandomVerticalFlip(0.3), ["gray"], SEEDS[:4]),
    "rotation": (v2.RandomRotation(30), ["rgb", "gray"], SEEDS[:3]),
    "rotation_bilinear": (v2.RandomRotation(30, interpolation=IM.BILINEAR), ["rgb"], SEEDS[:3]),
    "rotation_bilinear_nofill": (v2.RandomRotation(30, interpolation=IM.BILINEAR, fill=None), ["rgb"], SEEDS[:2]),
    "rotation_90": (v2.RandomRotation((90, 90)), ["square", "rgb"], FIXED),
    "rotation_180": (v2.RandomRotation((-180, -180)), ["rgb"], FIXED),
    "color_jitter": (v2.ColorJitter(0.4, 0.4, 0.4, 0.1), ["rgb", "gray"], SEEDS[:4]),
    "color_jitter_hue": (v2.ColorJitter(hue=0.5), ["rgb"], SEEDS[:3]),
    "to_float": (v2.ToDtype(torch.float32, scale=True), ["square"], FIXED),
    "normalize": (v2.Compose([v2.ToDtype(torch.float32, scale=True), v2.Normalize(MEAN, STD)]), ["square"], FIXED),
    # EvalPreprocessing(cropSize: 28, resizeSize: 32) as v2 transforms, and the preset itself.
    "eval": (v2.Compose([v2.Resize(32), v2.CenterCrop(28), v2.ToDtype(torch.float32, scale=True),
                         v2.Normalize(MEAN, STD)]), ["rgb", "square"], FIXED),
    "eval_bicubic": (v2.Compose([v2.Resize(32, IM.BICUBIC), v2.CenterCrop(28),
                                 v2.ToDtype(torch.float32, scale=True), v2.Normalize(MEAN, STD)]), ["rgb"], FIXED),
    "eval_preset": (ImageClassification(crop_size=28, resize_size=32), ["rgb", "square"], FIXED),
    # On float images, as torchvision applies it after Normalize; and 0 on uint8.
    "random_erasing": (v2.Compose([v2.ToDtype(torch.float32, scale=True), v2.RandomErasing()]), ["rgb", "gray"], SEEDS),
    "random_erasing_random": (v2.Compose([v2.ToDtype(torch.float32, scale=True),
                                          v2.RandomErasing(p=1, value="random")]), ["rgb"], SEEDS[:4]),
    "random_erasing_channels": (v2.Compose([v2.ToDtype(torch.float32, scale=True),
                                            v2.RandomErasing(p=1, scale=(0.1, 0.5), value=(0.5, -1.0, 2.0))]),
                                ["rgb"], SEEDS[:4]),
    "random_erasing_uint8": (v2.RandomErasing(p=1), ["square"], SEEDS[:3]),
}


def covering_seeds(transform, each):
    """The first seeds that make `transform` pick every operation `each` times (twice as
    often for signed ones, to see both signs)."""
    keys = list(transform._AUGMENTATION_SPACE)
    wanted = {k: each * (2 if transform._AUGMENTATION_SPACE[k][1] else 1) for k in keys}
    seeds = []
    for seed in range(10_000):
        torch.manual_seed(seed)
        key = keys[int(torch.randint(len(keys), ()))]
        if wanted[key] > 0:
            wanted[key] -= 1
            seeds.append(seed)
        if not any(wanted.values()):
            return seeds
    raise RuntimeError("no covering seeds")


trivial = v2.TrivialAugmentWide()
CASES["trivial_augment"] = (trivial, ["square"], covering_seeds(trivial, 1))
CASES["trivial_augment_large"] = (trivial, ["rgb", "gray"], covering_seeds(trivial, 1)[::4])
CASES["trivial_augment_bilinear"] = (v2.TrivialAugmentWide(interpolation=IM.BILINEAR, fill=0),
                                     ["square"], SEEDS[:6])
CASES["rand_augment"] = (v2.RandAugment(), ["square"], list(range(24)))
CASES["rand_augment_large"] = (v2.RandAugment(), ["rgb", "gray"], SEEDS[:4])

tensors = {f"image/{name}": image for name, image in IMAGES.items()}
for case, (transform, images, seeds) in CASES.items():
    for name in images:
        for seed in seeds:
            torch.manual_seed(seed)
            tensors[f"{case}/{name}/{seed}"] = transform(IMAGES[name]).clone(memory_format=torch.contiguous_format)

path = os.path.join(HERE, "transforms.safetensors")
save_file(tensors, path)
PIL.Image.fromarray(IMAGES["rgb"].permute(1, 2, 0).numpy()).save(os.path.join(HERE, "rgb.png"))
print(f"{len(tensors)} tensors, {os.path.getsize(path)} bytes")
