"""Builds a folder tree from SPEC, runs torchvision's ImageFolder on it and writes
imagefolder_order.json: the spec with the classes and samples torchvision finds.

ImageFolderTests builds the same tree from the JSON and checks that Graft's ImageFolder
agrees. Run with the reference venv: ~/.cache/graft/ref-venv/bin/python imagefolder_order.py
"""
import json
import os
import tempfile

import torchvision

SPEC = {
    # Files (empty: ImageFolder only lists them), relative to the root.
    "files": [
        "B/x.jpg",
        "a/1.png", "a/10.png", "a/2.png", "a/Z.JPG", "a/_u.Jpeg", "a/notes.txt", "a/.hidden.jpg", "a/.DS_Store",
        "a/sub/deep.jpeg", "a/sub/inner/w.webp", "a/sub b/y.jpg", "a/sub-c/z.png", "a/sub.d/q.jpg",
        "\u00c4/\u00e4.jpg", "\u00c4/a.jpg", "\u00c4/\u00c4.png", "\u00c4/z.PNG", "\u00c4/img.tiff", "\u00c4/doc.pdf",
        "b10/one.jpg", "b10/.jpg",
        "b2/two.jpeg", "b2/README",
        "\u00e9/precomposed.jpg",
        "e\u0301/decomposed.jpg",
        ".hidden/h.jpg",
        "_under/u.bmp", "~tilde/t.ppm", "1num/n.pgm", "Zz/tif.TIF", "Zz/x.jpg.txt",
        "root-file.jpg",
    ],
    # Symbolic links (link, target relative to the link's folder); ImageFolder follows them.
    "symlinks": [["a/link", "../b10"]],
}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    with tempfile.TemporaryDirectory() as root:
        for path in SPEC["files"]:
            full = os.path.join(root, path)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            open(full, "wb").close()
        for link, target in SPEC["symlinks"]:
            os.symlink(target, os.path.join(root, link))
        dataset = torchvision.datasets.ImageFolder(root)
        samples = [[os.path.relpath(path, root), target] for path, target in dataset.samples]
    result = dict(SPEC, torchvision=torchvision.__version__, classes=dataset.classes, samples=samples)
    with open(os.path.join(here, "imagefolder_order.json"), "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
