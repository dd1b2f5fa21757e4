"""The PyTorch-Python side of Graft's benchmarks: each case done as a PyTorch user would.

  recipe     the transfer-learning tutorial's "fixed feature extractor" loop: frozen ResNet-18,
             new fc, SGD(lr 0.001, momentum 0.9), cross-entropy, validation each epoch,
             best weights saved (ImageFolder + Resize(256)/CenterCrop(224)/ToTensor/Normalize)
  finetune   everything trains, RandomResizedCrop(224, scale 0.35-1) + horizontal flip
  predict    a folder of JPEGs, batch 32, inference mode; one JSON line per image
  pipeline   decode + Resize(256) + CenterCrop(224) + ToTensor + Normalize + batching only
  engine     training step and inference batch on identical in-memory tensors (batch 32,
             224 px, contiguous and channels-last), then a large sgemm
  flops      ResNet-18's FLOPs per 224 px image (torch.utils.flop_counter)

`--precision bf16` (finetune, predict; engine and backbones take a list, fp32,bf16) runs the
forward passes under torch.autocast("cpu", dtype=torch.bfloat16) with the model and its
inputs channels-last: PyTorch at its best on a CPU with native bfloat16 (avx512_bf16, AMX).

Run with the peer venv, e.g.:
  python bench/peer.py recipe --train T --val V --weights W.safetensors --epochs 2 --workers 1 --out RUN
Prints JSON lines (predict: one per image; the others: one per measurement).
"""
import argparse
import contextlib
import json
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import Image
from safetensors.torch import load_file
from torch.utils.data import DataLoader, Dataset
from torchvision import datasets, models, transforms

MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
EVAL = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor(),
                           transforms.Normalize(MEAN, STD)])
LIGHT = transforms.Compose([transforms.RandomResizedCrop(224, scale=(0.35, 1)), transforms.RandomHorizontalFlip(),
                            transforms.ToTensor(), transforms.Normalize(MEAN, STD)])


class Files(Dataset):
    """Image files without labels."""

    def __init__(self, paths):
        self.paths = paths

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        return EVAL(Image.open(self.paths[i]).convert("RGB")), i


def resnet18(weights, num_classes=10):
    model = models.resnet18(num_classes=num_classes)
    model.load_state_dict(load_file(weights))
    return model


PRECISION = "fp32"  # set by --precision for finetune and predict


def autocast(precision=None):
    """torch.autocast for bf16, nothing for fp32."""
    if (precision or PRECISION) == "bf16":
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def best_format(model):
    """Channels-last under bf16 (oneDNN's bf16 kernels want it), the model as it is in fp32."""
    return model.to(memory_format=torch.channels_last) if PRECISION == "bf16" else model


def to_format(inputs):
    return inputs.contiguous(memory_format=torch.channels_last) if PRECISION == "bf16" else inputs


def emit(**fields):
    print(json.dumps(fields), flush=True)


def run_epoch(model, loader, optimizer=None):
    """One pass; trains when given an optimizer. Returns (mean loss, accuracy)."""
    model.train(optimizer is not None)
    loss_sum, correct, seen = 0.0, 0, 0
    for inputs, labels in loader:
        with torch.set_grad_enabled(optimizer is not None), autocast():
            outputs = model(to_format(inputs))
            loss = F.cross_entropy(outputs, labels)
            if optimizer is not None:
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
        loss_sum += loss.item() * inputs.size(0)
        correct += (outputs.argmax(1) == labels).sum().item()
        seen += inputs.size(0)
    return loss_sum / seen, correct / seen


def recipe(args):
    train = DataLoader(datasets.ImageFolder(args.train, EVAL), batch_size=args.batch_size, shuffle=True,
                       num_workers=args.workers)
    val = DataLoader(datasets.ImageFolder(args.val, EVAL), batch_size=args.batch_size, num_workers=args.workers)
    model = resnet18(args.weights)
    for p in model.parameters():
        p.requires_grad = False
    model.fc = torch.nn.Linear(model.fc.in_features, len(train.dataset.classes))
    optimizer = torch.optim.SGD(model.fc.parameters(), lr=args.lr, momentum=0.9)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    started, best, history = time.perf_counter(), -1.0, []
    for _ in range(args.epochs):
        t = time.perf_counter()
        run_epoch(model, train, optimizer)
        _, accuracy = run_epoch(model, val)
        history.append(dict(seconds=time.perf_counter() - t, val_accuracy=accuracy))
        if accuracy > best:  # the tutorial keeps the best weights in a file
            best = accuracy
            torch.save(model.state_dict(), out / "model.pt")
    emit(case="recipe", seconds=time.perf_counter() - started, val_accuracy=best,
         final_val_accuracy=history[-1]["val_accuracy"], epoch_seconds=[h["seconds"] for h in history])


def finetune(args):
    train = DataLoader(datasets.ImageFolder(args.train, LIGHT), batch_size=args.batch_size, shuffle=True,
                       num_workers=args.workers)
    model = resnet18(args.weights)
    model.fc = torch.nn.Linear(model.fc.in_features, len(train.dataset.classes))
    model = best_format(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    seconds = []
    for _ in range(args.epochs):
        t = time.perf_counter()
        run_epoch(model, train, optimizer)
        seconds.append(time.perf_counter() - t)
    emit(case="finetune", epoch_seconds=seconds)


def predict(args):
    model = best_format(resnet18(args.weights).eval())
    loader = DataLoader(Files(args.images), batch_size=args.batch_size, num_workers=args.workers)
    with torch.inference_mode():
        for images, indices in loader:
            with autocast():
                logits = model(to_format(images))
            best = logits.float().softmax(1).topk(5, dim=1)
            for i, p, k in zip(indices.tolist(), best.values.tolist(), best.indices.tolist()):
                emit(path=args.images[i], top=[dict(index=c, probability=round(q, 6)) for c, q in zip(k, p)])


def pipeline(args):
    paths = sorted(str(p) for p in Path(args.folder).glob("*.jpg"))
    loader = DataLoader(Files(paths), batch_size=args.batch_size, num_workers=args.workers)
    rates = []
    for _ in range(args.passes):
        t = time.perf_counter()
        n = sum(len(indices) for _, indices in loader)
        rates.append(n / (time.perf_counter() - t))
    emit(case="pipeline", workers=args.workers, images=len(paths), images_per_s=statistics.median(rates))


def timed(step, warmup, steps):
    """Median milliseconds of `steps` calls after `warmup` untimed ones."""
    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        step()
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


def time_training_and_inference(model, x, y, warmup, steps, precision="fp32"):
    """Median ms of an SGD(0.001, 0.9) cross-entropy training step, then of an inference-mode forward."""
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)

    def train_step():
        optimizer.zero_grad()
        with autocast(precision):
            loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()

    def forward():
        with autocast(precision):
            return model(x)

    model.train()
    train_ms = timed(train_step, warmup, steps)
    model.eval()
    with torch.inference_mode():
        return train_ms, timed(forward, warmup, steps)


def engine(args):
    torch.manual_seed(0)
    x, y = torch.randn(32, 3, 224, 224), torch.randint(0, 10, (32,))
    for precision in args.precision.split(","):
        for name, fmt in (("contiguous", torch.contiguous_format), ("channels_last", torch.channels_last)):
            model = resnet18(args.weights).to(memory_format=fmt)
            xf = x.contiguous(memory_format=fmt)
            train_ms, ms = time_training_and_inference(model, xf, y, args.warmup, args.steps, precision)
            emit(case="train_step", format=name, precision=precision, ms=train_ms)
            emit(case="inference", format=name, precision=precision, ms=ms,
                 gflop_per_s=args.gflop_per_image * 32 / ms * 1e3)
    n = args.sgemm_size
    a, b = torch.randn(n, n), torch.randn(n, n)
    ms = timed(lambda: torch.matmul(a, b), 2, args.steps)
    emit(case="sgemm", size=n, ms=ms, gflop_per_s=2 * n**3 / ms / 1e6)


def backbones(args):
    """ConvNeXt-T (channels-last) and ViT-B/16: an SGD step and an inference batch at 224 px."""
    torch.manual_seed(0)
    x, y = torch.randn(args.batch, 3, 224, 224), torch.randint(0, 1000, (args.batch,))
    for precision in args.precision.split(","):
        for name, fmt in (("convnext_tiny", torch.channels_last), ("vit_b_16", torch.contiguous_format)):
            torch.manual_seed(0)
            model = getattr(models, name)().to(memory_format=fmt)
            xf = x.contiguous(memory_format=fmt)
            train_ms, ms = time_training_and_inference(model, xf, y, args.warmup, args.steps, precision)
            emit(case="train_step", format=name, precision=precision, ms=train_ms)
            emit(case="inference", format=name, precision=precision, ms=ms)


def flops(args):
    from torch.utils.flop_counter import FlopCounterMode
    model = models.resnet18().eval()
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        model(torch.randn(1, 3, 224, 224))
    emit(case="flops", flop_per_image=counter.get_total_flops())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    parser.add_argument("--precision", default="fp32",
                        help="fp32 or bf16 (torch.autocast, channels-last); engine and backbones: a list, fp32,bf16")
    loading = argparse.ArgumentParser(add_help=False)
    loading.add_argument("--workers", type=int, default=0, help="DataLoader num_workers")
    loading.add_argument("--batch-size", type=int, default=32)
    training = argparse.ArgumentParser(add_help=False, parents=[loading])
    training.add_argument("--train", required=True, help="ImageFolder")
    training.add_argument("--weights", required=True, help="ResNet-18 state dict (.safetensors)")
    training.add_argument("--epochs", type=int, default=1)
    training.add_argument("--lr", type=float, default=1e-3)
    sub = parser.add_subparsers(dest="case", required=True)
    p = sub.add_parser("recipe", parents=[training])
    p.add_argument("--val", required=True, help="ImageFolder")
    p.add_argument("--out", required=True, help="folder for the best model")
    sub.add_parser("finetune", parents=[training])
    p = sub.add_parser("predict", parents=[loading])
    p.add_argument("--weights", required=True)
    p.add_argument("images", nargs="+")
    p = sub.add_parser("pipeline", parents=[loading])
    p.add_argument("folder", help="a folder of .jpg files")
    p.add_argument("--passes", type=int, default=5, help="the median pass is reported")
    p = sub.add_parser("backbones")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--steps", type=int, default=3)
    p = sub.add_parser("engine")
    p.add_argument("--weights", required=True)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--steps", type=int, default=5, help="timed steps; the median is reported")
    p.add_argument("--sgemm-size", type=int, default=2048)
    p.add_argument("--gflop-per-image", type=float, default=3.628, help="for the inference GFLOP/s")
    sub.add_parser("flops")
    args = parser.parse_args()
    global PRECISION
    PRECISION = args.precision if args.case in ("finetune", "predict") else "fp32"
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)  # the new head and the shuffling repeat from run to run
    {"recipe": recipe, "finetune": finetune, "predict": predict, "pipeline": pipeline, "engine": engine, "backbones": backbones,
     "flops": flops}[args.case](args)


if __name__ == "__main__":
    main()
