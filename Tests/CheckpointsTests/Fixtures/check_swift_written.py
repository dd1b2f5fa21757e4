"""Checks files that the Swift tests write against real torch and safetensors.

CI has no Python torch, so this is a manual check:

    CHECKPOINTS_EXPORT_DIR=/tmp/swift-written swift test
    ~/.cache/graft/ref-venv/bin/python Tests/CheckpointsTests/Fixtures/check_swift_written.py /tmp/swift-written

It loads every Swift-written `.pth` with `torch.load(path, weights_only=True)` (after checking
the zip's CRCs with `zipfile.testzip`) and every `.safetensors` with `safetensors.torch.load_file`,
and compares dtypes, shapes and values with what torch itself reads from the fixtures.
"""
import json
import pathlib
import sys
import zipfile

import torch
from safetensors.torch import load_file

HERE = pathlib.Path(__file__).resolve().parent
TYPES = ["float64", "float32", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8", "bool"]


def same(a, b):
    return a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b)


def check_pth(path):
    with zipfile.ZipFile(path) as z:
        bad = z.testzip()
        assert bad is None, f"{path}: CRC mismatch in {bad}"
        assert all(i.compress_type == zipfile.ZIP_STORED for i in z.infolist())
    sd = torch.load(path, weights_only=True)
    assert type(sd).__name__ == "OrderedDict", type(sd)
    return sd


def main(directory):
    directory = pathlib.Path(directory)
    reference = torch.load(HERE / "tiny.pth", weights_only=True)
    expected = json.loads((HERE / "expected.json").read_text())

    for name in ["swift_written.pth", "swift_written_zip64.pth"]:
        sd = check_pth(directory / name)
        assert list(sd) == list(reference), (name, list(sd))
        for key, tensor in reference.items():
            assert same(sd[key], tensor.detach()), (name, key)
            assert sd[key].is_contiguous(), (name, key)
        print(f"ok  {name}: {len(sd)} tensors equal to torch.load of tiny.pth")

    sd = check_pth(directory / "swift_all_types.pth")
    for i, name in enumerate(TYPES):
        dtype = getattr(torch, name)
        raw = bytes(((j * 37 + i) & 0xFF) for j in range(6 * dtype.itemsize))
        want = torch.frombuffer(bytearray(raw), dtype=torch.uint8).view(dtype).view(2, 3)
        got = sd[f"t.{name}"]
        assert got.dtype == dtype and got.shape == (2, 3)
        assert torch.equal(got.view(torch.uint8), want.view(torch.uint8)), name
    assert sd["empty"].shape == (0, 3) and torch.equal(sd["large.count"], torch.full((70000,), 7, dtype=torch.uint8))
    print(f"ok  swift_all_types.pth: {len(sd)} tensors, every dtype bit-exact")

    for name in ["swift_written.safetensors", "swift_from_pth.safetensors"]:
        sd = load_file(str(directory / name))
        for entry in expected:
            got = sd[entry["key"]]
            assert str(got.dtype) == "torch." + entry["dtype"] and list(got.shape) == entry["shape"], entry["key"]
            assert got.double().flatten().tolist() == entry["values"], entry["key"]
        print(f"ok  {name}: {len(sd)} tensors equal to expected.json")


if __name__ == "__main__":
    main(sys.argv[1])
