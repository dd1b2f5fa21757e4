"""Makes (or reuses) the benchmark data under ~/.cache/graft/bench-data/<size>/.

From Fashion-MNIST (Debian's dataset-fashion-mnist, /usr/share/datasets/fashion-mnist),
upscaled to 320x320 RGB JPEG (quality 90), so the Resize(256) of the evaluation
preprocessing has real work to do:
  recipe/train/<class>/*.jpg, recipe/val/<class>/*.jpg
                          the tutorial recipe's ImageFolder trees (10 classes; full size
                          250 + 150 images, the scale of the tutorial's 244 + 153 ants/bees)
  finetune/<class>/*.jpg  the fine-tuning case's ImageFolder tree
  infer/*.jpg             a flat folder for inference (from the test set)
all disjoint,
and, shared by both sizes, seeded ResNet-18 weights with a new 10-class fc
(~/.cache/graft/bench-data/resnet18_seed0.safetensors): ImageNet weights can't be
downloaded here, and both sides load this same file. Its BatchNorm running statistics
are measured on 256 other Fashion-MNIST images, so that a frozen trunk in eval mode
(Graft's default) and in train mode (the tutorial's) normalise alike.

Run with the peer venv:  python bench/make_data.py [--quick]
Prints one JSON object: the folders, the weights file and the counts.
"""
import argparse
import gzip
import json
import random
import shutil
from pathlib import Path

import numpy as np
import torch
import torchvision
from PIL import Image
from safetensors.torch import save_file

SOURCE = Path("/usr/share/datasets/fashion-mnist")
ROOT = Path.home() / ".cache/graft/bench-data"
CLASSES = ["tshirt_top", "trouser", "pullover", "dress", "coat",
           "sandal", "shirt", "sneaker", "bag", "ankle_boot"]
# Images per class (recipe_train, recipe_val, finetune) and in all (infer).
SIZES = {"quick": dict(recipe_train=10, recipe_val=5, finetune=20, infer=200),
         "full": dict(recipe_train=25, recipe_val=15, finetune=100, infer=500)}
FOLDERS = {"recipe_train": "recipe/train", "recipe_val": "recipe/val", "finetune": "finetune", "infer": "infer"}
SIDE, QUALITY = 320, 90
CALIBRATION = 256  # the last test images, for the BatchNorm statistics


def read_idx(name):
    with gzip.open(SOURCE / name) as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


def save_jpeg(pixels, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(pixels).convert("RGB").resize((SIDE, SIDE), Image.BILINEAR)
    image.save(path, quality=QUALITY)


def write_split(images, labels, picks, folder):
    for i in picks:
        save_jpeg(images[i], folder / CLASSES[labels[i]] / f"{i:05d}.jpg")


def per_class(labels, counts, rng):
    """Disjoint seeded picks: for each class, `counts` consecutive slices of its shuffled indices."""
    out = [[] for _ in counts]
    for c in range(len(CLASSES)):
        idx = [int(i) for i in np.flatnonzero(labels == c)]
        rng.shuffle(idx)
        start = 0
        for part, n in enumerate(counts):
            out[part] += idx[start:start + n]
            start += n
    return out


def make_split(size):
    folder = ROOT / size
    marker = folder / ".complete"
    spec = json.dumps({**SIZES[size], "side": SIDE, "quality": QUALITY})
    if marker.exists() and marker.read_text() == spec:
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    rng = random.Random(0)
    images, labels = read_idx("train-images-idx3-ubyte.gz"), read_idx("train-labels-idx1-ubyte.gz")
    n = SIZES[size]
    parts = ("recipe_train", "recipe_val", "finetune")
    for part, picks in zip(parts, per_class(labels, [n[p] for p in parts], rng)):
        write_split(images, labels, picks, folder / FOLDERS[part])
    test = read_idx("t10k-images-idx3-ubyte.gz")
    for i in rng.sample(range(len(test) - CALIBRATION), n["infer"]):
        save_jpeg(test[i], folder / "infer" / f"{i:05d}.jpg")
    marker.write_text(spec)
    return folder


def calibration_batch():
    """The last test images (infer/ samples the others), as 224 px ImageNet-normalised RGB."""
    pixels = torch.from_numpy(read_idx("t10k-images-idx3-ubyte.gz")[-CALIBRATION:].copy())
    x = pixels.float().div(255).unsqueeze(1).expand(-1, 3, -1, -1)
    x = torch.nn.functional.interpolate(x, size=(224, 224), mode="bilinear", antialias=True)
    mean, std = torch.tensor([0.485, 0.456, 0.406]), torch.tensor([0.229, 0.224, 0.225])
    return (x - mean.view(1, 3, 1, 1)) / std.view(1, 3, 1, 1)


def make_weights():
    path = ROOT / "resnet18_seed0.safetensors"
    if not path.exists():
        torch.manual_seed(0)
        model = torchvision.models.resnet18(num_classes=len(CLASSES))
        for bn in (m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)):
            bn.momentum = None  # cumulative average over the calibration batches
            bn.reset_running_stats()
        model.train()
        with torch.no_grad():
            for batch in calibration_batch().split(32):
                model(batch)
        ROOT.mkdir(parents=True, exist_ok=True)
        save_file(model.state_dict(), str(path.with_suffix(".tmp")))
        path.with_suffix(".tmp").rename(path)
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the quick size (see SIZES)")
    size = "quick" if parser.parse_args().quick else "full"
    folder = make_split(size)
    count = lambda sub: sum(1 for _ in (folder / sub).rglob("*.jpg"))
    print(json.dumps({"size": size, **{part: str(folder / sub) for part, sub in FOLDERS.items()},
                      "weights": str(make_weights()), "counts": {part: count(sub) for part, sub in FOLDERS.items()}}))


if __name__ == "__main__":
    main()
