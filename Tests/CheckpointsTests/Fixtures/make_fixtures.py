"""Writes the Checkpoints test fixtures next to this script.

Run with the reference venv (torch + safetensors):

    ~/.cache/graft/ref-venv/bin/python Tests/CheckpointsTests/Fixtures/make_fixtures.py

Outputs (all small, deterministic from torch.manual_seed(0)):
  tiny.pth            zip format, as torch.save writes it today
  tiny_legacy.pth     legacy pre-1.6 format (_use_new_zipfile_serialization=False)
  tiny.safetensors    written by the safetensors package, metadata {"format": "pt"}
  expected.json       a list in state dict order of {key, dtype, shape, values}, the values
                      row-major as floats
  checkpoint.pth      a training checkpoint: ints, floats, strings, nested dicts
                      and the state dict under "model_state_dict"
  forbidden.pth       zip whose data.pkl references os.system (hand-made opcodes)
  compressed.pth      tiny.pth re-zipped with deflate (torch never writes that)
"""
import collections
import json
import pathlib
import zipfile

import torch
import torch.nn as nn
from safetensors.torch import save_file

HERE = pathlib.Path(__file__).resolve().parent


def make_state_dict():
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3, bias=False),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(4, 5),
    )
    model.train()
    model(torch.randn(2, 3, 6, 6))  # moves BN running_mean / running_var
    sd = model.state_dict()  # an OrderedDict with a `_metadata` attribute
    sd["1.num_batches_tracked"].fill_(12345678901)  # int64 beyond 32 bits
    sd["extra.float64"] = torch.randn(3, dtype=torch.float64)
    sd["extra.half"] = torch.randn(2, 3).half()
    sd["extra.bfloat16"] = torch.randn(5).bfloat16()
    sd["extra.mask"] = torch.tensor([True, False, True, True, False, False])
    sd["extra.int32"] = torch.tensor([-2147483648, -1, 0, 2147483647], dtype=torch.int32)
    sd["extra.int16"] = torch.tensor([-32768, 7, 32767], dtype=torch.int16)
    sd["extra.int8"] = torch.tensor([-128, -1, 0, 127], dtype=torch.int8)
    sd["extra.uint8"] = torch.tensor([0, 1, 128, 255], dtype=torch.uint8)
    # A non-contiguous view sharing the Linear weight's storage: shape [4, 5], strides [1, 4].
    sd["extra.transposed"] = sd["5.weight"].t()
    # Two tensors on one storage, the second at storage offset 4.
    base = torch.randn(10)
    sd["extra.shared_a"] = base[:4]
    sd["extra.shared_b"] = base[4:].view(2, 3)
    sd["extra.scalar"] = torch.tensor(3.5)
    sd["extra.empty"] = torch.zeros(0, 3)
    # Pickled through torch._utils._rebuild_parameter.
    sd["extra.param"] = nn.Parameter(torch.randn(2, 2))
    return sd


def dtype_name(dtype):
    return str(dtype).removeprefix("torch.")


def main():
    sd = make_state_dict()
    torch.save(sd, HERE / "tiny.pth")
    torch.save(sd, HERE / "tiny_legacy.pth", _use_new_zipfile_serialization=False)
    # safetensors refuses shared or non-contiguous storage: give each tensor its own.
    save_file({k: v.detach().contiguous().clone() for k, v in sd.items()},
              str(HERE / "tiny.safetensors"), metadata={"format": "pt"})
    expected = [{"key": k, "dtype": dtype_name(v.dtype), "shape": list(v.shape),
                 "values": [float(x) for x in v.detach().flatten().double().tolist()]}
                for k, v in sd.items()]
    (HERE / "expected.json").write_text("[\n" + ",\n".join(json.dumps(e) for e in expected) + "\n]\n")

    small = collections.OrderedDict(
        [("fc.weight", torch.arange(6, dtype=torch.float32).view(2, 3)),
         ("fc.bias", torch.tensor([0.5, -0.5]))])
    checkpoint = {
        "epoch": 7,
        "best_acc1": 0.625,
        "arch": "tiny",
        "big": 2**40,
        "neg": -5,
        "model_state_dict": small,
        "optimizer": {"lr": 0.1, "betas": (0.9, 0.999), "nesterov": True,
                      "milestones": [30, 60], "scheduler": None},
    }
    torch.save(checkpoint, HERE / "checkpoint.pth")

    # {'a': os.system} -- GLOBAL 'os system' must be refused, never resolved.
    forbidden_pkl = b"\x80\x02}q\x00X\x01\x00\x00\x00aq\x01cos\nsystem\nq\x02s."
    with zipfile.ZipFile(HERE / "forbidden.pth", "w", zipfile.ZIP_STORED) as z:
        z.writestr("forbidden/data.pkl", forbidden_pkl)
        z.writestr("forbidden/byteorder", "little")
        z.writestr("forbidden/version", "3\n")

    with zipfile.ZipFile(HERE / "tiny.pth") as src, \
            zipfile.ZipFile(HERE / "compressed.pth", "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info.filename))


if __name__ == "__main__":
    main()
