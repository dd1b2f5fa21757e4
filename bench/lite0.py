"""EfficientNet-Lite0 in plain PyTorch, for the benchmarks' Python side, written from the facts
in shared/DATA.md (no library has it): the `efficientnet_pytorch` names of the published weights
(`_conv_stem`, `_blocks.N._expand_conv`/`_bn0`/`_depthwise_conv`/`_bn1`/`_project_conv`/`_bn2`,
`_conv_head`, `_bn1`, `_fc`), 16 MBConv blocks without squeeze-excitation, ReLU6, TensorFlow's
"SAME" padding (the odd pixel at the bottom and right), BatchNorm eps 1e-3 and momentum 0.01,
drop-connect 0.2 × block / 16, dropout 0.2; input (x − 127) / 128 on 0–255 pixels.

    model = lite0(weights="efficientnet-lite0-57934424.pth", num_classes=10)
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

MEAN = [127 / 255] * 3
STD = [128 / 255] * 3
# expand, kernel, stride, output, repeats
STAGES = [(1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3), (6, 5, 1, 112, 3),
          (6, 5, 2, 192, 4), (6, 3, 1, 320, 1)]


class SameConv(nn.Conv2d):
    """Conv2d with TensorFlow's SAME padding, computed per input size."""

    def forward(self, x):
        pads = []
        for size, k, s in zip(x.shape[-2:][::-1], self.kernel_size[::-1], self.stride[::-1]):
            total = max((math.ceil(size / s) - 1) * s + k - size, 0)
            pads += [total // 2, total - total // 2]
        return F.conv2d(F.pad(x, pads) if any(pads) else x, self.weight, self.bias, self.stride, 0, 1, self.groups)


def bn(c):
    return nn.BatchNorm2d(c, eps=1e-3, momentum=0.01)


def drop_connect(x, p, training):
    if not training or p == 0:
        return x
    keep = 1 - p
    mask = torch.empty(x.shape[0], 1, 1, 1, dtype=x.dtype, device=x.device).bernoulli_(keep)
    return x / keep * mask


class Block(nn.Module):
    def __init__(self, cin, cout, expand, kernel, stride, drop):
        super().__init__()
        mid = cin * expand
        if expand != 1:
            self._expand_conv = SameConv(cin, mid, 1, bias=False)
            self._bn0 = bn(mid)
        self._depthwise_conv = SameConv(mid, mid, kernel, stride=stride, groups=mid, bias=False)
        self._bn1 = bn(mid)
        self._project_conv = SameConv(mid, cout, 1, bias=False)
        self._bn2 = bn(cout)
        self.residual = stride == 1 and cin == cout
        self.drop = drop

    def forward(self, x):
        y = x
        if hasattr(self, "_expand_conv"):
            y = F.relu6(self._bn0(self._expand_conv(y)))
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return drop_connect(y, self.drop, self.training) + x if self.residual else y


class Lite0(nn.Module):
    def __init__(self, num_classes=1000):
        super().__init__()
        self._conv_stem = SameConv(3, 32, 3, stride=2, bias=False)
        self._bn0 = bn(32)
        specs, cin = [], 32
        for expand, kernel, stride, cout, repeats in STAGES:
            for j in range(repeats):
                specs.append((cin if j == 0 else cout, cout, expand, kernel, stride if j == 0 else 1))
            cin = cout
        self._blocks = nn.ModuleList(Block(*s, drop=0.2 * i / len(specs)) for i, s in enumerate(specs))
        self._conv_head = SameConv(320, 1280, 1, bias=False)
        self._bn1 = bn(1280)
        self._dropout = nn.Dropout(0.2)
        self._fc = nn.Linear(1280, num_classes)

    def features(self, x):
        x = F.relu6(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            x = block(x)
        return F.adaptive_avg_pool2d(F.relu6(self._bn1(self._conv_head(x))), 1).flatten(1)

    def forward(self, x):
        return self._fc(self._dropout(self.features(x)))


def lite0(weights, num_classes):
    """The published ImageNet weights (PyTorch's legacy .pth format), then a fresh `_fc`."""
    model = Lite0()
    model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    model._fc = nn.Linear(1280, num_classes)
    return model
