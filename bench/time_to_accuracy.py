"""Time to accuracy: how good a model each way of transfer learning hands back, and how soon.

Three ways, side by side in one run, on the same images and the same real EfficientNet-Lite0
ImageNet weights (`efficientnet-lite0-57934424.pth`; the PyTorch model is bench/lite0.py):

  tutorial  PyTorch's transfer-learning tutorial, fixed-feature-extractor half: a new `_fc`,
            everything else frozen, `model.train()`, SGD(lr 0.001, momentum 0.9) on `_fc`,
            StepLR(7, 0.1), 25 epochs of batches of 4, RandomResizedCrop(224) + flip.
  fastai    fastai 2.8.12 as its docs do it: ImageDataLoaders.from_folder with Resize(224) and
            aug_transforms(), `Learner(dls, model, splitter=[trunk, _fc])`, `fine_tune(10)` with
            its defaults (1 frozen epoch, then 10 unfrozen; one-cycle, base_lr 2e-3, lr_mult 100).
  graft     `graft train TRAIN --val VAL --out RUN` with its defaults.

Each runs in a fresh process with 2 threads; the parent stamps each epoch's validation
accuracy as its line arrives (seconds since the process started, model loading included), and
reports the best accuracy, the time it was first reached, the total time, and the time Graft
took to reach the best peer's accuracy (if it did).

Sets (made once under ~/.cache/graft/bench-data/accuracy): Fashion-MNIST with 20 training
images per class (Debian's dataset-fashion-mnist) and scikit-learn's handwritten digits with 20
per class; 50 validation images per class each, disjoint from training.

  python bench/time_to_accuracy.py [--graft .build/release/graft] [--sets fmnist20,digits20]

Started by `bash bench/accuracy.sh`, which sets up the peer venv (with fastai) and builds graft.
"""
import argparse
import gzip
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CACHE = Path(os.environ.get("GRAFT_CACHE", Path.home() / ".cache/graft"))
DATA = CACHE / "bench-data/accuracy"
WEIGHTS = CACHE / "weights/efficientnet-lite0-57934424.pth"
RESULTS = CACHE / "bench-results"
THREADS = 2
ENV = {**os.environ, "OMP_NUM_THREADS": str(THREADS)}
FASTAI_EPOCHS = 10
FMNIST = ["T-shirt", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


# MARK: Data

def write_png(pixels, path):
    from PIL import Image
    Image.fromarray(pixels).save(path)


def write_split(images, labels, names, picks, folder):
    for c, name in enumerate(names):
        (folder / name).mkdir(parents=True, exist_ok=True)
    for i in picks:
        write_png(images[i], folder / names[labels[i]] / f"{i}.png")


def pick(labels, per_class, rng, exclude=()):
    import numpy as np
    chosen = []
    for c in sorted(set(labels.tolist())):
        pool = [i for i in np.flatnonzero(labels == c) if i not in exclude]
        chosen += list(rng.choice(pool, size=per_class, replace=False))
    return chosen


def make_fmnist(root):
    import numpy as np
    source = Path("/usr/share/datasets/fashion-mnist")

    def idx(name):
        with gzip.open(source / name) as f:
            data = f.read()
        if "labels" in name:
            return np.frombuffer(data, np.uint8, offset=8)
        n = int.from_bytes(data[4:8], "big")
        return np.frombuffer(data, np.uint8, offset=16).reshape(n, 28, 28)

    rng = np.random.default_rng(0)
    train_x, train_y = idx("train-images-idx3-ubyte.gz"), idx("train-labels-idx1-ubyte.gz")
    test_x, test_y = idx("t10k-images-idx3-ubyte.gz"), idx("t10k-labels-idx1-ubyte.gz")
    write_split(train_x, train_y, FMNIST, pick(train_y, 20, rng), root / "train")
    write_split(test_x, test_y, FMNIST, pick(test_y, 50, rng), root / "val")


def make_digits(root):
    import numpy as np
    from sklearn.datasets import load_digits
    digits = load_digits()
    images = (digits.images * 16).clip(0, 255).astype(np.uint8)
    labels = digits.target
    rng = np.random.default_rng(1)
    train = pick(labels, 20, rng)
    val = pick(labels, 50, rng, exclude=set(train))
    names = [str(d) for d in range(10)]
    write_split(images, labels, names, train, root / "train")
    write_split(images, labels, names, val, root / "val")


SETS = {"fmnist20": make_fmnist, "digits20": make_digits}


def ensure_set(name):
    root = DATA / name
    if not (root / "val").exists():
        tmp = DATA / (name + ".tmp")
        if tmp.exists():
            import shutil
            shutil.rmtree(tmp)
        SETS[name](tmp)
        tmp.rename(root)
    return root


# MARK: The Python ways (run as children)

def report(epoch, accuracy):
    print(json.dumps({"epoch": epoch, "val_accuracy": float(accuracy)}), flush=True)


def tutorial(root):
    import torch
    from torch.utils.data import DataLoader
    from torchvision import datasets, transforms
    sys.path.insert(0, str(HERE))
    from lite0 import MEAN, STD, lite0
    torch.set_num_threads(THREADS)
    torch.manual_seed(0)
    train_t = transforms.Compose([transforms.RandomResizedCrop(224), transforms.RandomHorizontalFlip(),
                                  transforms.ToTensor(), transforms.Normalize(MEAN, STD)])
    val_t = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor(),
                                transforms.Normalize(MEAN, STD)])
    train = datasets.ImageFolder(root / "train", train_t)
    val = datasets.ImageFolder(root / "val", val_t)
    loaders = {"train": DataLoader(train, batch_size=4, shuffle=True, num_workers=1),
               "val": DataLoader(val, batch_size=4, shuffle=False, num_workers=1)}
    model = lite0(WEIGHTS, len(train.classes))
    for name, p in model.named_parameters():
        p.requires_grad = name.startswith("_fc")
    optimizer = torch.optim.SGD(model._fc.parameters(), lr=0.001, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=7, gamma=0.1)
    criterion = torch.nn.CrossEntropyLoss()
    for epoch in range(25):
        model.train()
        for x, y in loaders["train"]:
            optimizer.zero_grad()
            criterion(model(x), y).backward()
            optimizer.step()
        scheduler.step()
        model.eval()
        correct = 0
        with torch.no_grad():
            for x, y in loaders["val"]:
                correct += (model(x).argmax(1) == y).sum().item()
        report(epoch + 1, correct / len(val))


def fastai_way(root):
    import torch
    from fastai.callback.core import Callback
    from fastai.vision.all import (CrossEntropyLossFlat, ImageDataLoaders, Learner, Normalize, Resize, accuracy,
                                   aug_transforms)
    sys.path.insert(0, str(HERE))
    from lite0 import MEAN, STD, lite0
    torch.set_num_threads(THREADS)
    torch.manual_seed(0)
    dls = ImageDataLoaders.from_folder(root, train="train", valid="val", item_tfms=Resize(224),
                                       batch_tfms=[*aug_transforms(), Normalize.from_stats(MEAN, STD)], bs=32,
                                       num_workers=1, seed=0)
    model = lite0(WEIGHTS, len(dls.vocab))

    def splitter(m):
        return [[p for n, p in m.named_parameters() if not n.startswith("_fc")], list(m._fc.parameters())]

    class Report(Callback):
        order = 60  # after the Recorder (50) has this epoch's values
        done = 0

        def after_epoch(self):
            Report.done += 1
            report(Report.done, self.recorder.values[-1][2])

    learn = Learner(dls, model, loss_func=CrossEntropyLossFlat(), metrics=accuracy, splitter=splitter, cbs=[Report()])
    with learn.no_bar(), learn.no_logging():
        learn.fine_tune(FASTAI_EPOCHS)


# MARK: The parent

def run(cmd, parse):
    """Runs `cmd`; returns [(seconds since start, epoch, accuracy)] as lines arrive, and the total."""
    start = time.perf_counter()
    process = subprocess.Popen([str(c) for c in cmd], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env=ENV, bufsize=1)
    points, tail = [], []
    for line in process.stdout:
        tail = (tail + [line])[-30:]
        parsed = parse(line)
        if parsed:
            points.append((time.perf_counter() - start, *parsed))
    process.wait()
    total = time.perf_counter() - start
    if process.returncode != 0:
        sys.exit(f"time-to-accuracy: {' '.join(map(str, cmd))} failed ({process.returncode}):\n{''.join(tail)}")
    return points, total


def parse_json(line):
    try:
        o = json.loads(line)
        return o["epoch"], o["val_accuracy"]
    except (ValueError, KeyError, TypeError):
        return None


GRAFT_EPOCH = re.compile(r"^epoch (\d+)/\d+ .*val loss \S+ acc ([0-9.]+)")


def parse_graft(line):
    m = GRAFT_EPOCH.match(line.strip())
    return (int(m.group(1)), float(m.group(2))) if m else None


def summary(points, total):
    best = max(a for _, _, a in points)
    first = next((t, e) for t, e, a in points if a == best)
    return {"best_accuracy": best, "seconds_to_best": first[0], "best_epoch": first[1], "seconds": total,
            "epochs": [{"epoch": e, "val_accuracy": a, "seconds": t} for t, e, a in points]}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("way", nargs="?", choices=["tutorial", "fastai"])
    parser.add_argument("--data")
    parser.add_argument("--graft", default=str(HERE.parent / ".build/release/graft"))
    parser.add_argument("--sets", default=",".join(SETS))
    args = parser.parse_args()
    if args.way:
        (tutorial if args.way == "tutorial" else fastai_way)(Path(args.data))
        return
    if not WEIGHTS.exists():
        sys.exit(f"time-to-accuracy: {WEIGHTS} is missing: run scripts/setup.sh")
    results = {"machine": platform.processor() or platform.machine(), "threads": THREADS, "sets": {}}
    for name in args.sets.split(","):
        root = ensure_set(name)
        ways = {}
        for way in ["tutorial", "fastai"]:
            print(f"{name}: {way} ...", file=sys.stderr, flush=True)
            ways[way] = summary(*run([sys.executable, __file__, way, "--data", root], parse_json))
        print(f"{name}: graft ...", file=sys.stderr, flush=True)
        out = CACHE / "bench-runs" / f"accuracy-{name}"
        ways["graft"] = summary(*run([args.graft, "train", root / "train", "--val", root / "val", "--out", out,
                                      "--overwrite"], parse_graft))
        peer_best = max(ways["tutorial"]["best_accuracy"], ways["fastai"]["best_accuracy"])
        peer = min((w for w in ["tutorial", "fastai"] if ways[w]["best_accuracy"] == peer_best),
                   key=lambda w: ways[w]["seconds_to_best"])
        reach = next((p["seconds"] for p in ways["graft"]["epochs"] if p["val_accuracy"] >= peer_best), None)
        results["sets"][name] = {"ways": ways, "best_peer": peer, "graft_seconds_to_best_peer_accuracy": reach}
        for way, r in ways.items():
            print(f"{name}: {way}: best {r['best_accuracy']:.4f} at {r['seconds_to_best']:.1f} s "
                  f"(epoch {r['best_epoch']}), total {r['seconds']:.1f} s", file=sys.stderr, flush=True)
    lines = ["| set | way | best val. accuracy | time to best | total time | Graft: time to the best peer's accuracy |",
             "|---|---|---|---|---|---|"]
    for name, s in results["sets"].items():
        best = s["ways"][s["best_peer"]]
        for way, r in s["ways"].items():
            extra = ""
            if way == "graft":
                reach = s["graft_seconds_to_best_peer_accuracy"]
                extra = (f"{reach:.0f} s ({best['seconds_to_best'] / reach:.1f}× sooner than {s['best_peer']})"
                         if reach else f"not reached ({s['best_peer']} {best['best_accuracy']:.3f})")
            lines.append(f"| {name} | {way} | {r['best_accuracy']:.3f} (epoch {r['best_epoch']}) | "
                         f"{r['seconds_to_best']:.0f} s | {r['seconds']:.0f} s | {extra} |")
    table = "\n".join(lines)
    print(table)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for path in [RESULTS / "accuracy-latest.md", RESULTS / f"accuracy-{stamp}.md"]:
        path.write_text(table + "\n")
    for path in [RESULTS / "accuracy-latest.json", RESULTS / f"accuracy-{stamp}.json"]:
        path.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
