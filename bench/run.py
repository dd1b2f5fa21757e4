"""Runs Graft's benchmarks against PyTorch-Python ("the peer") and writes the table.

Normally started by `bench/run.sh [--quick]`, which first sets up the peer venv and builds
`graft` and `graft-bench` in release mode; on its own (with the peer venv's python):
  python bench/run.py [--quick] [--graft .build/release/graft] [--graft-bench .build/release/graft-bench]

It makes (or reuses) the data with make_data.py, asks the peer for ResNet-18's FLOP count,
tries the peer's DataLoader with 0, 1 and 2 workers once per case and keeps the fastest,
then runs every case R times (quick 2, full 3), Graft and peer alternately, each run a
fresh process with 2 threads, recording its wall time and peak RSS (wait4's ru_maxrss: the
largest single process, so the peer's DataLoader worker processes are not added in).
The machine may be shared: each run waits until no other process keeps a core busy, and is
redone (up to 3 times) when other processes used more than 10% of a core meanwhile; the
CPU time they took is recorded with every run.
Prints a Markdown table and writes it, with every raw measurement as JSON, to
~/.cache/graft/bench-results/ (latest.md, latest.json and time-stamped copies).
"""
import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = Path.home() / ".cache/graft/bench-results"
THREADS = 2
ENV = {**os.environ, "OMP_NUM_THREADS": str(THREADS)}
DISTURBED = 0.1  # share of one core other processes may use during a measured run


def busy_cpu_seconds():
    """CPU seconds the whole machine has spent busy (not idle or waiting for I/O) since boot."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def run(cmd):
    """Runs `cmd`; returns wall seconds, peak RSS (MB), the CPU seconds other processes
    used meanwhile (the machine's busy time less the command's), and stdout lines. Fails loudly."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start, busy = time.perf_counter(), busy_cpu_seconds()
        process = subprocess.Popen([str(c) for c in cmd], stdout=out, stderr=err, env=ENV)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        others = busy_cpu_seconds() - busy - usage.ru_utime - usage.ru_stime
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if process.returncode != 0:
            sys.exit(f"bench: {' '.join(map(str, cmd))} failed ({process.returncode}):\n{err.read()[-3000:]}")
        return dict(wall=wall, rss_mb=usage.ru_maxrss / 1024, others_cpu=max(others, 0.0),
                    lines=out.read().splitlines())


def json_lines(lines):
    return [json.loads(line) for line in lines if line.startswith("{")]


def busy_processes(seconds=1.0):
    """Other processes that used over 5% of a core during `seconds` (name, % of one core)."""
    def ticks():
        out = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                text = stat.read_text()
            except OSError:
                continue
            name, fields = text[text.index("(") + 1:text.rindex(")")], text[text.rindex(")") + 2:].split()
            out[stat.parent.name] = (name, int(fields[11]) + int(fields[12]))
        return out

    before = ticks()
    time.sleep(seconds)
    after = ticks()
    hz = os.sysconf("SC_CLK_TCK")
    return sorted(((name, round(100 * (t - before[pid][1]) / hz / seconds)) for pid, (name, t) in after.items()
                   if pid in before and pid != str(os.getpid()) and (t - before[pid][1]) / hz / seconds > 0.05),
                  key=lambda item: -item[1])


def wait_until_quiet(limit=900):
    """Waits (up to `limit` seconds) until no other process keeps a core busy."""
    deadline, told = time.monotonic() + limit, False
    while (busy := busy_processes()) and time.monotonic() < deadline:
        if not told:
            print(f"  waiting for a quiet machine: {busy}", flush=True)
            told = True
        time.sleep(10)


def measured(cmd, tries=3):
    """`run(cmd)` on a quiet machine, again (up to `tries` times in all) when other
    processes used more than DISTURBED of one core meanwhile."""
    for _ in range(tries):
        wait_until_quiet()
        result = run(cmd)
        if result["others_cpu"] <= DISTURBED * result["wall"]:
            break
        print(f"  disturbed: other processes used {result['others_cpu']:.1f} CPU-s; again", flush=True)
    return result


def cpu_description():
    """The CPU's model name and its bfloat16-related flags, from /proc/cpuinfo."""
    model, flags = platform.processor() or platform.machine(), set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                model = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
                break
    except OSError:
        pass
    return model, sorted(flags & {"avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile"})


def machine_state():
    return dict(load_average=os.getloadavg(), busy=busy_processes(), time=time.strftime("%Y-%m-%d %H:%M:%S"))


class Bench:
    def __init__(self, args):
        self.quick = args.quick
        self.repeats = 2 if args.quick else 3
        self.epochs = 10 if args.quick else 25  # the recipe's; the tutorial trains 25
        self.finetune_epochs = 2
        self.steps = 5 if args.quick else 10
        self.graft, self.graft_bench = Path(args.graft).resolve(), Path(args.graft_bench).resolve()
        self.peer = [sys.executable, HERE / "peer.py", "--threads", THREADS]
        self.cpu_model, self.cpu_flags = cpu_description()
        # bf16 autocast cases only where the CPU has native bfloat16 (elsewhere it is emulated, many times slower).
        self.precisions = ["fp32", "bf16"] if {"avx512_bf16", "amx_bf16"} & set(self.cpu_flags) else ["fp32"]
        made = run([sys.executable, HERE / "make_data.py"] + (["--quick"] if args.quick else []))
        self.data = json_lines(made["lines"])[-1]
        self.images = sorted(str(p) for p in Path(self.data["infer"]).glob("*.jpg"))
        self.scratch = Path(tempfile.mkdtemp(prefix="runs-", dir=RESULTS))
        self.runs = []      # every measured run: case, side, repeat, wall, rss_mb, others_cpu, metrics
        self.workers = {}   # the peer's best DataLoader worker count per case, with the trials

    def out_dir(self, name):
        path = self.scratch / name
        shutil.rmtree(path, ignore_errors=True)
        return path

    # Commands per case and side. Each returns (command, parse(result) -> dict of metrics).

    def graft_recipe(self, cache):
        out = self.out_dir("graft-recipe")
        cmd = [self.graft, "train", self.data["recipe_train"], "--val", self.data["recipe_val"], "--model", "resnet18",
               "--weights", self.data["weights"], "--freeze", "backbone", "--epochs", self.epochs,
               "--batch-size", 32, "--lr", 0.001, "--optimizer", "sgd", "--threads", THREADS, "--out", out, "--json",
               "--precision", "fp32"]  # the tutorial's fp32 on both sides; bf16 has its own cases
        if not cache:
            cmd += ["--cache-features", "off"]
        def parse(r):
            rows = [row.split(",") for row in (out / "metrics.csv").read_text().splitlines()]
            return dict(final_val_accuracy=float(rows[-1][rows[0].index("val_accuracy")]),
                        best_val_accuracy=json_lines(r["lines"])[-1]["val_accuracy"],
                        seconds=json_lines(r["lines"])[-1]["seconds"])
        return cmd, parse

    def peer_recipe(self, workers, epochs=None):
        cmd = self.peer + ["recipe", "--train", self.data["recipe_train"], "--val", self.data["recipe_val"], "--weights",
                           self.data["weights"], "--epochs", epochs or self.epochs, "--workers", workers,
                           "--out", self.out_dir("peer-recipe")]
        return cmd, lambda r: dict(final_val_accuracy=json_lines(r["lines"])[-1]["final_val_accuracy"],
                                   best_val_accuracy=json_lines(r["lines"])[-1]["val_accuracy"],
                                   seconds=json_lines(r["lines"])[-1]["seconds"])

    def graft_finetune(self, precision="fp32"):
        out = self.out_dir("graft-finetune")
        cmd = [self.graft, "train", self.data["finetune"], "--model", "resnet18", "--weights", self.data["weights"],
               "--freeze", "none", "--augment", "light", "--epochs", self.finetune_epochs,
               "--batch-size", 32, "--lr", 0.001, "--optimizer", "sgd", "--threads", THREADS, "--out", out, "--json",
               "--precision", precision]

        def parse(_):
            rows = (out / "metrics.csv").read_text().splitlines()
            column = rows[0].split(",").index("seconds")
            return dict(epoch_seconds=statistics.median(float(row.split(",")[column]) for row in rows[1:]))
        return cmd, parse

    def peer_finetune(self, workers, epochs=None, precision="fp32"):
        cmd = self.peer + ["--precision", precision, "finetune", "--train", self.data["finetune"], "--weights", self.data["weights"],
                           "--epochs", epochs or self.finetune_epochs, "--workers", workers]
        return cmd, lambda r: dict(epoch_seconds=statistics.median(json_lines(r["lines"])[-1]["epoch_seconds"]))

    def predicted(self, r):
        count = sum(1 for line in json_lines(r["lines"]) if "top" in line)
        assert count == len(self.images), f"{count} predictions for {len(self.images)} images"
        return dict(images_per_s=count / r["wall"])

    def graft_predict(self, precision="fp32"):
        return [self.graft, "predict", "--model", "resnet18", "--weights", self.data["weights"], "--json",
                "--precision", precision, *self.images], self.predicted

    def peer_predict(self, workers, precision="fp32"):
        return self.peer + ["--precision", precision, "predict", "--weights", self.data["weights"], "--workers", workers,
                            *self.images], self.predicted

    def graft_pipeline(self):
        return [self.graft_bench, "pipeline", self.data["infer"], "--workers", THREADS, "--threads", THREADS], \
            lambda r: dict(images_per_s=json_lines(r["lines"])[-1]["images_per_s"])

    def peer_pipeline(self, workers):
        return self.peer + ["pipeline", self.data["infer"], "--workers", workers], \
            lambda r: dict(images_per_s=json_lines(r["lines"])[-1]["images_per_s"])

    def engine_metrics(self, r):
        metrics = {}
        for line in json_lines(r["lines"]):
            key = line["case"] + (f"_{line['format']}" if "format" in line else "") \
                + (f"_{line['precision']}" if line.get("precision", "fp32") != "fp32" else "")
            metrics[f"{key}_ms"] = line["ms"]
            if "gflop_per_s" in line:
                metrics[f"{key}_gflop_per_s"] = line["gflop_per_s"]
        return metrics

    def engine_options(self):
        return ["--weights", self.data["weights"], "--steps", self.steps, "--gflop-per-image",
                self.flop_per_image / 1e9]

    def graft_engine(self):
        return [self.graft_bench, "engine", *self.engine_options(), "--threads", THREADS,
                "--precision", ",".join(self.precisions)], self.engine_metrics

    def peer_engine(self):
        return self.peer + ["--precision", ",".join(self.precisions), "engine", *self.engine_options()], \
            self.engine_metrics

    def graft_backbones(self):
        return [self.graft_bench, "backbones", "--steps", self.steps, "--threads", THREADS,
                "--precision", ",".join(self.precisions)], self.engine_metrics

    def peer_backbones(self):
        return self.peer + ["--precision", ",".join(self.precisions), "backbones", "--steps", self.steps], \
            self.engine_metrics

    # Running

    def measure(self, case, side, repeat, command):
        cmd, parse = command
        result = measured(cmd)
        metrics = parse(result)
        self.runs.append(dict(case=case, side=side, repeat=repeat, wall=result["wall"], rss_mb=result["rss_mb"],
                              others_cpu=result["others_cpu"], metrics=metrics))
        print(f"  {case:9} {side:13} #{repeat}  {result['wall']:7.1f} s  {result['rss_mb']:6.0f} MB  "
              f"others {result['others_cpu']:4.1f} cpu-s  "
              + "  ".join(f"{k} {v:.4g}" for k, v in metrics.items()), flush=True)

    def calibrate(self, case, command, faster):
        """Runs the peer's `command(workers)` with 0, 1 and 2 workers; keeps the best by `faster`."""
        trials = {}
        for workers in (0, 1, 2):
            cmd, parse = command(workers)
            result = measured(cmd)
            trials[workers] = faster(result, parse(result))
            print(f"  calibrate {case:9} workers {workers}: {trials[workers]:.4g}", flush=True)
        best = min(trials, key=trials.get)
        self.workers[case] = dict(best=best, trials=trials)
        return best

    def main(self):
        self.state_before = machine_state()
        print(f"bench: {'quick' if self.quick else 'full'} size, {self.repeats} repeats, data {self.data['counts']}, "
              f"machine load {self.state_before['load_average'][0]:.2f}, busy: {self.state_before['busy'] or 'none'}",
              flush=True)
        self.flop_per_image = json_lines(run(self.peer + ["flops"])["lines"])[-1]["flop_per_image"]
        wall = lambda result, metrics: result["wall"]
        per_epoch = lambda result, metrics: metrics["epoch_seconds"]
        per_image = lambda result, metrics: 1 / metrics["images_per_s"]
        w_recipe = self.calibrate("recipe", lambda w: self.peer_recipe(w, epochs=1), wall)
        w_finetune = self.calibrate("finetune", lambda w: self.peer_finetune(w, epochs=1), per_epoch)
        w_predict = self.calibrate("predict", self.peer_predict, per_image)
        w_pipeline = self.calibrate("pipeline", self.peer_pipeline, per_image)
        cases = [
            ("recipe", [("graft-cache", lambda: self.graft_recipe(cache=True)),
                        ("graft-nocache", lambda: self.graft_recipe(cache=False)),
                        ("peer", lambda: self.peer_recipe(w_recipe))]),
            ("finetune", [("graft", self.graft_finetune), ("peer", lambda: self.peer_finetune(w_finetune))]),
            ("predict", [("graft", self.graft_predict), ("peer", lambda: self.peer_predict(w_predict))]),
            *([("finetune-bf16", [("graft", lambda: self.graft_finetune("bf16")),
                                  ("peer", lambda: self.peer_finetune(w_finetune, precision="bf16"))]),
               ("predict-bf16", [("graft", lambda: self.graft_predict("bf16")),
                                 ("peer", lambda: self.peer_predict(w_predict, "bf16"))])]
              if "bf16" in self.precisions else []),
            ("engine", [("graft", self.graft_engine), ("peer", self.peer_engine)]),
            ("backbones", [("graft", self.graft_backbones), ("peer", self.peer_backbones)]),
            ("pipeline", [("graft", self.graft_pipeline), ("peer", lambda: self.peer_pipeline(w_pipeline))]),
        ]
        for case, sides in cases:
            for repeat in range(1, self.repeats + 1):
                for side, command in sides:
                    self.measure(case, side, repeat, command())
        self.state_after = machine_state()
        shutil.rmtree(self.scratch, ignore_errors=True)
        self.report()

    # Reporting

    def median(self, case, side, key):
        values = [r["metrics"][key] if key in r["metrics"] else r[key]
                  for r in self.runs if r["case"] == case and r["side"] == side]
        return statistics.median(values)

    def report(self):
        rows = []

        def row(title, case, key, unit, graft_side="graft", lower_is_better=True, digits=2, memory=True):
            """`lower_is_better`: a time (True), a rate (False), or neither (None: no ratio)."""
            g, p = self.median(case, graft_side, key), self.median(case, "peer", key)
            ratio = "" if lower_is_better is None else f"{p / g if lower_is_better else g / p:.2f}×"
            memory_cells = (f"{self.median(case, graft_side, 'rss_mb'):.0f}", f"{self.median(case, 'peer', 'rss_mb'):.0f}") \
                if memory else ("", "")
            rows.append((title, f"{g:.{digits}f} {unit}".strip(), f"{p:.{digits}f} {unit}".strip(), ratio, *memory_cells))

        n = self.data["counts"]
        recipe = f"{n['recipe_train']} train + {n['recipe_val']} val images, {self.epochs} epochs"
        row(f"1. Tutorial recipe, wall ({recipe}); Graft feature cache", "recipe", "wall", "s", "graft-cache")
        row("1. … Graft `--cache-features off`", "recipe", "wall", "s", "graft-nocache")
        for key, what in (("best_val_accuracy", "best (kept)"), ("final_val_accuracy", "last epoch's")):
            row(f"1. … {what} val accuracy, Graft feature cache", "recipe", key, "", "graft-cache",
                lower_is_better=None, digits=3, memory=False)
            row(f"1. … {what} val accuracy, Graft `--cache-features off`", "recipe", key, "", "graft-nocache",
                lower_is_better=None, digits=3, memory=False)
        row(f"2. Full fine-tuning, light augmentation, per epoch ({n['finetune']} images)", "finetune",
            "epoch_seconds", "s")
        row(f"3. Inference on {n['infer']} JPEGs, whole process", "predict", "images_per_s", "img/s",
            lower_is_better=False, digits=1)
        for fmt in ("contiguous", "channels_last"):
            row(f"4. Engine: training step, batch 32, {fmt}", "engine", f"train_step_{fmt}_ms", "ms", digits=0,
                memory=fmt == "contiguous")
            row(f"4. Engine: inference batch 32, {fmt}", "engine", f"inference_{fmt}_ms", "ms", digits=0,
                memory=False)
        for fmt in ("contiguous", "channels_last"):
            row(f"5. ResNet-18 inference, {fmt}", "engine", f"inference_{fmt}_gflop_per_s", "GFLOP/s",
                lower_is_better=False, digits=1, memory=False)
        row("5. sgemm 2048×2048 (`matmul`)", "engine", "sgemm_gflop_per_s", "GFLOP/s", lower_is_better=False,
            digits=1, memory=False)
        for name in ("convnext_tiny", "vit_b_16"):
            row(f"6. {name}: training step, batch 8, 224 px", "backbones", f"train_step_{name}_ms", "ms", digits=0,
                memory=name == "convnext_tiny")
            row(f"6. {name}: inference batch 8, 224 px", "backbones", f"inference_{name}_ms", "ms", digits=0,
                memory=False)
        bf16 = "bf16" in self.precisions
        if bf16:
            row(f"2. … bf16 autocast on both sides (peer channels-last), per epoch", "finetune-bf16", "epoch_seconds", "s")
            row(f"3. … bf16 autocast on both sides (peer channels-last)", "predict-bf16", "images_per_s", "img/s",
                lower_is_better=False, digits=1)
            for fmt in ("contiguous", "channels_last"):
                row(f"4. … bf16 autocast: training step, batch 32, {fmt}", "engine", f"train_step_{fmt}_bf16_ms", "ms",
                    digits=0, memory=False)
                row(f"4. … bf16 autocast: inference batch 32, {fmt}", "engine", f"inference_{fmt}_bf16_ms", "ms",
                    digits=0, memory=False)
            for name in ("convnext_tiny", "vit_b_16"):
                row(f"6. … bf16 autocast: {name} training step", "backbones", f"train_step_{name}_bf16_ms", "ms",
                    digits=0, memory=False)
                row(f"6. … bf16 autocast: {name} inference", "backbones", f"inference_{name}_bf16_ms", "ms",
                    digits=0, memory=False)
        speedups = []

        def speedup(title, case32, case16, key32, key16, lower_is_better=True):
            """bf16's gain over fp32 on each side: time(fp32) / time(bf16), or rate(bf16) / rate(fp32)."""
            cells = [title]
            for side in ("graft", "peer"):
                a, b = self.median(case32, side, key32), self.median(case16, side, key16)
                cells += [f"{a:.4g}", f"{b:.4g}", f"{a / b if lower_is_better else b / a:.2f}×"]
            speedups.append(cells)

        if bf16:
            speedup("2. Full fine-tuning, s per epoch", "finetune", "finetune-bf16", "epoch_seconds", "epoch_seconds")
            speedup("3. Inference on JPEGs, img/s, whole process", "predict", "predict-bf16", "images_per_s",
                    "images_per_s", lower_is_better=False)
            for fmt in ("contiguous", "channels_last"):
                speedup(f"4. Engine training step, {fmt}, ms", "engine", "engine", f"train_step_{fmt}_ms",
                        f"train_step_{fmt}_bf16_ms")
                speedup(f"4. Engine inference, {fmt}, ms", "engine", "engine", f"inference_{fmt}_ms",
                        f"inference_{fmt}_bf16_ms")
            for name in ("convnext_tiny", "vit_b_16"):
                speedup(f"6. {name} training step, ms", "backbones", "backbones", f"train_step_{name}_ms",
                        f"train_step_{name}_bf16_ms")
                speedup(f"6. {name} inference, ms", "backbones", "backbones", f"inference_{name}_ms",
                        f"inference_{name}_bf16_ms")
        row(f"Data pipeline alone: decode+resize+crop+normalize+batch ({n['infer']} JPEGs)", "pipeline",
            "images_per_s", "img/s", lower_is_better=False, digits=1)

        worst = max(self.runs, key=lambda r: r["others_cpu"])
        interference = (f"Other processes during the measured runs: {sum(r['others_cpu'] for r in self.runs):.1f} "
                        f"CPU-s in all, at most {worst['others_cpu']:.1f} CPU-s in one run "
                        f"({worst['case']} {worst['side']} #{worst['repeat']}, {worst['wall']:.0f} s).")
        workers = ", ".join(f"{case} {w['best']}" for case, w in self.workers.items())
        lines = [
            f"# Graft vs PyTorch-Python benchmarks ({'quick' if self.quick else 'full'})",
            "",
            f"{self.state_before['time']}; {self.cpu_model} (flags: {', '.join(self.cpu_flags) or 'none of avx2/avx512'}), "
            f"{os.cpu_count()} cores, "
            f"{THREADS} threads on both sides; medians of {self.repeats} alternating runs.",
            f"Machine at the start: load {self.state_before['load_average'][0]:.2f}, other busy processes: "
            f"{self.state_before['busy'] or 'none'}; at the end: load {self.state_after['load_average'][0]:.2f}, "
            f"busy: {self.state_after['busy'] or 'none'}. {interference}",
            f"Peer DataLoader workers (fastest of 0, 1, 2): {workers}. Graft: its defaults "
            f"({THREADS} decoding threads, channels-last). FLOPs per 224 px image: {self.flop_per_image / 1e9:.3f} G "
            "(torch.utils.flop_counter; torchvision's \"1.81 GFLOPS\" counts multiply-adds).",
            "",
            "| case | Graft | PyTorch | peer ÷ Graft time (>1: Graft faster) | Graft peak RSS MB | PyTorch peak RSS MB |",
            "|---|---:|---:|---:|---:|---:|",
            *("| " + " | ".join(r) + " |" for r in rows),
            "",
            "- 1: ImageNet weights can't be downloaded here, so both sides load the same seeded random ResNet-18 "
            "whose BatchNorm statistics were measured on other Fashion-MNIST images (bench/make_data.py): "
            "accuracy is low in absolute terms (10 classes, lr 0.001) but shows both learn alike. Graft keeps the "
            "frozen trunk's BatchNorm in eval mode (its default, which lets it cache features); the tutorial's "
            "`model.train()` runs it on batch statistics. Graft's wall time includes its whole run folder: model "
            "and checkpoint files each epoch, plots and the report; the peer saves the best weights, as the "
            "tutorial does.",
            "- 2 and 1: Graft trains channels-last (its default), the peer contiguous (the tutorial's).",
            "- 3: whole-process wall time, start-up included (`graft predict` vs a Python script importing torch).",
            "- 4, 5: same input tensors, weights and thread count; median of the timed steps per process. "
            "Graft's tool and graft-bench keep freed CPU memory for exact reuse (`Torch.keepFreedMemory()`: mallopt plus a malloc-based libtorch CPU allocator); "
            "the peer runs with Python's defaults.",
            "- Peak RSS: wait4's ru_maxrss, the largest single process (DataLoader worker processes not added).",
            "- Precision: fp32 on both sides unless the row says bf16 autocast (`graft --precision bf16`, the peer's "
            "`torch.autocast(\"cpu\", dtype=torch.bfloat16)`); `graft`'s default, `--precision auto`, is bf16 on a CPU "
            "with avx512_bf16 or amx_bf16 and fp32 elsewhere."
            + ("" if bf16 else " This CPU has neither, so the bf16 cases were not run."),
            "",
        ]
        if speedups:
            lines += [
                "bf16 autocast against fp32, each side against itself (same cases as above):",
                "",
                "| case | Graft fp32 | Graft bf16 | Graft bf16 speed-up | PyTorch fp32 | PyTorch bf16 | PyTorch bf16 speed-up |",
                "|---|---:|---:|---:|---:|---:|---:|",
                *("| " + " | ".join(r) + " |" for r in speedups),
                "",
            ]
        text = "\n".join(lines)
        print("\n" + text)
        stamp = time.strftime("%Y%m%d-%H%M%S") + ("-quick" if self.quick else "-full")
        raw = dict(quick=self.quick, repeats=self.repeats, data=self.data, flop_per_image=self.flop_per_image,
                   peer_workers=self.workers, machine_before=self.state_before, machine_after=self.state_after,
                   runs=self.runs)
        for name in ("latest", stamp):
            (RESULTS / f"{name}.md").write_text(text)
            (RESULTS / f"{name}.json").write_text(json.dumps(raw, indent=1))
        print(f"bench: wrote {RESULTS}/latest.md and latest.json ({stamp})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small data, 2 repeats (else full size, 3 repeats)")
    parser.add_argument("--graft", default=HERE.parent / ".build/release/graft")
    parser.add_argument("--graft-bench", default=HERE.parent / ".build/release/graft-bench")
    RESULTS.mkdir(parents=True, exist_ok=True)
    Bench(parser.parse_args()).main()


if __name__ == "__main__":
    main()
