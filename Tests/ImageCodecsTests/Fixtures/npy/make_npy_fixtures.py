"""Makes the .npy fixtures of NPYTests.swift with numpy's own writer (numpy.save and
numpy.lib.format.write_array for format versions 2.0 and 3.0), and npy.json: each valid
file's shape, dtype and values in C order as numpy reads them; the files numpy writes that
Graft refuses (structured, complex, bool, object dtypes) are listed with no values.

    ~/.cache/graft/ref-venv/bin/python Tests/ImageCodecsTests/Fixtures/npy/make_npy_fixtures.py
"""
import json
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(0)
valid = {
    "u1_hwc": rng.integers(0, 256, (4, 5, 3)).astype(np.uint8),
    "u2_chw": rng.integers(0, 65536, (2, 3, 4)).astype(np.uint16),
    "i2_signed": rng.integers(-32768, 32768, (3, 3)).astype(np.int16),
    "f4": rng.standard_normal((2, 3)).astype(np.float32),
    "f8": rng.standard_normal((2, 2)),
    "be_u2": rng.integers(0, 65536, (3, 2)).astype(">u2"),
    "be_f4": rng.standard_normal((2, 2)).astype(">f4"),
    "fortran_f4": np.asfortranarray(rng.standard_normal((3, 4, 2)).astype(np.float32)),
    "fortran_u2": np.asfortranarray(rng.integers(0, 65536, (2, 5)).astype(np.uint16)),
    "scalar_f4": np.array(1.5, dtype=np.float32),
    "empty_u1": np.zeros((0, 3), dtype=np.uint8),
    "bands13_u2": rng.integers(0, 10000, (13, 4, 4)).astype(np.uint16),
}
versions = {"v2_u1": (2, 0), "v3_f4": (3, 0)}
refused = {
    "structured": np.zeros(2, dtype=[("a", "<f4"), ("b", "<i2")]),
    "complex": np.zeros((2, 2), dtype=np.complex64),
    "bool": np.zeros((2, 2), dtype=bool),
    "int64": np.zeros((2, 2), dtype=np.int64),
}
expected = {}
for name, array in valid.items():
    np.save(os.path.join(HERE, f"{name}.npy"), array)
for name, version in versions.items():
    array = rng.integers(0, 256, (2, 3)).astype(np.uint8) if name.endswith("u1") else rng.standard_normal(4).astype(np.float32)
    with open(os.path.join(HERE, f"{name}.npy"), "wb") as f:
        np.lib.format.write_array(f, array, version=version)
    valid[name] = array
for name, array in refused.items():
    np.save(os.path.join(HERE, f"{name}.npy"), array)
for name in valid:
    back = np.load(os.path.join(HERE, f"{name}.npy"))
    expected[name] = {"shape": list(back.shape), "dtype": back.dtype.newbyteorder("=").str[1:],
                      "values": [float(v) for v in np.ascontiguousarray(back).astype(np.float64).ravel()]}
with open(os.path.join(HERE, "npy.json"), "w") as f:
    json.dump({"numpy": np.__version__, "valid": expected, "refused": sorted(refused)}, f)
print(f"numpy {np.__version__}: {len(expected)} valid, {len(refused)} refused")
