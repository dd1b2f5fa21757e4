"""Writes the ImageCodecs test fixtures and the pixels Pillow decodes from them.

Usage: python make_fixtures.py [--sklearn-wheel PATH]
Needs Pillow and numpy. The photo comes from scikit-learn's wheel (china.jpg); without
--sklearn-wheel the wheel is fetched with `pip download --no-deps scikit-learn`.

For every image X the expected result is X's Pillow decode, `Image.open(X).convert("RGB")`
(after `ImageOps.exif_transpose` where the file has an orientation), stored raw as
`<name>.rgb` (HWC, row-major, 8-bit). Exceptions, listed in fixtures.json:
- 16-bit gray PNG: Pillow clips samples to 255 in convert("RGB"); the decoder keeps the high
  byte, as Pillow does for every other 16-bit PNG, so the expected file is `sample >> 8`.
- `<name>.u16`: the 16-bit samples (alpha dropped), little-endian, for keep16Bit decoding.
- `<name>.gray`: Pillow's `convert("L")`, for channels = 1.
- the photos are too large to store raw: fixtures.json has the FNV-1a 64 hash of the RGB bytes.
"""

import argparse
import glob
import io
import json
import struct
import subprocess
import sys
import tempfile
import zipfile
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

HERE = Path(__file__).resolve().parent
rng = np.random.default_rng(20240611)
manifest = {"images": [], "photos": []}


def texture(width, height, channels):
    """Gradients, a disc and mild noise: smooth areas and edges, like a photo in miniature."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    planes = []
    for c in range(channels):
        base = 128 + 90 * np.sin(x / (5 + 3 * c) + c) * np.cos(y / (7 + 2 * c))
        disc = ((x - width * 0.6) ** 2 + (y - height * 0.4) ** 2) < (min(width, height) * 0.3) ** 2
        base = np.where(disc, 230 - 60 * c, base) + rng.normal(0, 12, (height, width))
        planes.append(base)
    return np.clip(np.stack(planes, axis=-1), 0, 255).astype(np.uint8)


def fnv1a64(data):
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def pillow_rgb(data):
    image = Image.open(io.BytesIO(data))
    return ImageOps.exif_transpose(image).convert("RGB")


def add(name, data, kind, expected=None, gray=False, u16=None):
    """Writes the file and Pillow's decode of it; `expected` overrides the RGB result."""
    (HERE / name).write_bytes(data)
    rgb = expected if expected is not None else np.asarray(pillow_rgb(data))
    stem = name.rsplit(".", 1)[0]
    (HERE / f"{stem}.rgb").write_bytes(np.ascontiguousarray(rgb, dtype=np.uint8).tobytes())
    entry = {"file": name, "kind": kind, "width": rgb.shape[1], "height": rgb.shape[0], "expected": f"{stem}.rgb"}
    if gray:
        luma = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("L")
        (HERE / f"{stem}.gray").write_bytes(np.asarray(luma).tobytes())
        entry["expectedGray"] = f"{stem}.gray"
    if u16 is not None:
        (HERE / f"{stem}.u16").write_bytes(u16.astype("<u2").tobytes())
        entry["expected16"] = f"{stem}.u16"
        entry["channels16"] = 1 if u16.ndim == 2 else u16.shape[2]
    manifest["images"].append(entry)


def jpeg(image, **options):
    out = io.BytesIO()
    image.save(out, "JPEG", **options)
    return out.getvalue()


def tiff_orientation(value, big_endian):
    """A minimal EXIF TIFF block: IFD0 with the orientation tag only."""
    e = ">" if big_endian else "<"
    head = (b"MM" if big_endian else b"II") + struct.pack(e + "HI", 42, 8)
    return head + struct.pack(e + "H", 1) + struct.pack(e + "HHIHH", 0x0112, 3, 1, value, 0) + struct.pack(e + "I", 0)


def with_app1(jpeg_data, tiff):
    payload = b"Exif\0\0" + tiff
    return jpeg_data[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + jpeg_data[2:]


# ---- PNG writer: every color type, bit depth and Adam7, which Pillow cannot all write ----

ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def pack_rows(samples, depth):
    """samples: H x W x C integers -> filter-0 scanlines."""
    h = samples.shape[0]
    flat = samples.reshape(h, -1)
    out = b""
    for row in flat:
        if depth == 16:
            raw = row.astype(">u2").tobytes()
        elif depth == 8:
            raw = row.astype(np.uint8).tobytes()
        else:
            raw = np.packbits(np.unpackbits(row.astype(np.uint8)[:, None], axis=1)[:, 8 - depth:].reshape(-1)).tobytes()
        out += b"\0" + raw
    return out


def png(samples, depth, color_type, interlace=False, extra=b""):
    h, w = samples.shape[:2]
    if samples.ndim == 2:
        samples = samples[:, :, None]
    if interlace:
        data = b"".join(pack_rows(samples[y0::dy, x0::dx], depth)
                        for x0, y0, dx, dy in ADAM7 if samples[y0::dy, x0::dx].size)
    else:
        data = pack_rows(samples, depth)
    ihdr = struct.pack(">IIBBBBB", w, h, depth, color_type, 0, 0, int(interlace))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra + chunk(b"IDAT", zlib.compress(data, 9)) + chunk(b"IEND", b"")


def make_pngs():
    w, h = 33, 21
    for depth in (1, 2, 4, 8):
        gray = rng.integers(0, 1 << depth, (h, w))
        add(f"png_gray{depth}.png", png(gray, depth, 0), "png")
    gray16 = rng.integers(0, 65536, (h, w))
    add("png_gray16.png", png(gray16, 16, 0), "png", expected=np.repeat((gray16 >> 8)[:, :, None], 3, 2), u16=gray16)
    gray8 = texture(w, h, 1)[:, :, 0]
    add("png_gray8_trns.png", png(gray8, 8, 0, extra=chunk(b"tRNS", struct.pack(">H", int(gray8[0, 0])))), "png")
    add("png_graya8.png", png(np.dstack([gray8, rng.integers(0, 256, (h, w))]), 8, 4), "png")
    graya16 = rng.integers(0, 65536, (h, w, 2))
    add("png_graya16.png", png(graya16, 16, 4), "png", u16=graya16[:, :, 0])
    palette = rng.integers(0, 256, (256, 3), dtype=np.uint8)
    plte = chunk(b"PLTE", palette.tobytes())
    add("png_palette4.png", png(rng.integers(0, 16, (h, w)), 4, 3, extra=chunk(b"PLTE", palette[:16].tobytes())), "png")
    trns = chunk(b"tRNS", bytes(range(0, 256, 2)))
    add("png_palette8_trns.png", png(rng.integers(0, 256, (h, w)), 8, 3, extra=plte + trns), "png")
    rgb8 = texture(w, h, 3)
    add("png_rgb8.png", png(rgb8, 8, 2), "png", gray=True)
    rgb16 = rng.integers(0, 65536, (h, w, 3))
    add("png_rgb16.png", png(rgb16, 16, 2), "png", u16=rgb16)
    add("png_rgba8.png", png(np.dstack([rgb8, rng.integers(0, 256, (h, w))]), 8, 6), "png")
    rgba16 = rng.integers(0, 65536, (h, w, 4))
    add("png_rgba16.png", png(rgba16, 16, 6), "png", u16=rgba16[:, :, :3])
    add("png_rgb8_interlaced.png", png(rgb8, 8, 2, interlace=True), "png")
    add("png_rgba16_interlaced.png", png(rgba16, 16, 6, interlace=True), "png", u16=rgba16[:, :, :3])
    add("png_palette2_interlaced.png",
        png(rng.integers(0, 4, (h, w)), 2, 3, interlace=True, extra=chunk(b"PLTE", palette[:4].tobytes())), "png")
    add("png_exif6.png", png(rgb8, 8, 2, extra=chunk(b"eXIf", tiff_orientation(6, big_endian=True))), "png")


def make_jpegs():
    w, h = 45, 33
    rgb = Image.fromarray(texture(w, h, 3))
    add("jpeg_baseline.jpg", jpeg(rgb, quality=90), "jpeg", gray=True)
    add("jpeg_progressive.jpg", jpeg(rgb, quality=85, progressive=True), "jpeg")
    add("jpeg_444.jpg", jpeg(rgb, quality=90, subsampling=0), "jpeg")
    add("jpeg_422.jpg", jpeg(rgb, quality=90, subsampling=1), "jpeg")
    add("jpeg_gray.jpg", jpeg(Image.fromarray(texture(w, h, 1)[:, :, 0]), quality=90), "jpeg")
    add("jpeg_cmyk.jpg", jpeg(Image.fromarray(texture(w, h, 4), "CMYK"), quality=90), "jpeg")
    wide = Image.fromarray(texture(40, 24, 3))
    for value, big_endian in ((3, False), (6, True), (8, False)):
        add(f"jpeg_exif{value}.jpg", with_app1(jpeg(wide, quality=90), tiff_orientation(value, big_endian)), "jpeg")
    # 640x480 for DCT scaling: big smooth shapes compress well.
    y, x = np.mgrid[0:480, 0:640]
    scene = np.stack([(x * 255 // 639), (y * 255 // 479), 128 + 100 * np.sin(x / 40.0) * np.cos(y / 30.0)], -1)
    scene[((x - 400) ** 2 + (y - 200) ** 2) < 120 ** 2] = (240, 60, 30)
    scene[100:160, 60:300] = (20, 200, 90)
    data = jpeg(Image.fromarray(scene.astype(np.uint8)), quality=75)
    add_photo("scene640x480.jpg", data)


def add_photo(name, data):
    (HERE / name).write_bytes(data)
    rgb = np.asarray(pillow_rgb(data))
    manifest["photos"].append({"file": name, "width": rgb.shape[1], "height": rgb.shape[0],
                               "fnv1a64": fnv1a64(rgb.tobytes())})


def make_photo(wheel):
    if wheel is None:
        folder = tempfile.mkdtemp()
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "scikit-learn", "-d", folder], check=True)
        wheel = glob.glob(folder + "/*.whl")[0]
    with zipfile.ZipFile(wheel) as archive:
        china = Image.open(io.BytesIO(archive.read("sklearn/datasets/images/china.jpg"))).convert("RGB")
    left = (china.width - china.height * 4 // 3) // 2  # 4:3 crop, then 500x375
    photo = china.crop((left, 0, left + china.height * 4 // 3, china.height)).resize((500, 375), Image.LANCZOS)
    add_photo("photo500x375.jpg", jpeg(photo, quality=70))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sklearn-wheel")
    args = parser.parse_args()
    for old in HERE.iterdir():
        if old.suffix in {".jpg", ".png", ".rgb", ".gray", ".u16", ".json"}:
            old.unlink()
    make_jpegs()
    make_pngs()
    make_photo(args.sklearn_wheel)
    (HERE / "fixtures.json").write_text(json.dumps(manifest, indent=1) + "\n")
    sizes = {p.name: p.stat().st_size for p in HERE.iterdir() if p.name != "make_fixtures.py"}
    print(f"{len(sizes)} files, {sum(sizes.values())} bytes; largest {max(sizes, key=sizes.get)} {max(sizes.values())}")


main()
