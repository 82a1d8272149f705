"""The city detector: a tiny anchor-free single-stage detector (YOLOv8-like layout, FCOS/TAL-style training).

Backbone of strided convs and light CSP blocks, a top-down + bottom-up neck (PAN) over strides 8/16/32, and a
decoupled head per level that predicts, for every grid point, the distances to the box's four sides and a score
per class. The exported graph ends exactly like an Ultralytics YOLOv8 detect export: one tensor [1, 4 + C, N]
holding cx, cy, w, h in input pixels and sigmoid class scores, no objectness, no NMS.
"""
from __future__ import annotations

import math
from typing import List, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

CLASS_NAMES: Tuple[str, ...] = ('vehicle', 'stall', 'person')
STRIDES: Tuple[int, ...] = (8, 16, 32)


class ConvBnAct(nn.Module):
    def __init__(self, c_in: int, c_out: int, k: int = 3, s: int = 1, groups: int = 1):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, k, s, k // 2, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(c_out, eps=1e-3, momentum=0.03)
        self.act = nn.SiLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(self.conv(x)))


class Bottleneck(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.cv1 = ConvBnAct(c, c, 3)
        self.cv2 = ConvBnAct(c, c, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.cv2(self.cv1(x))


class CSPBlock(nn.Module):
    """C2f-like: split, run n bottlenecks on one half keeping every intermediate, concatenate, fuse with a 1x1."""

    def __init__(self, c_in: int, c_out: int, n: int = 1):
        super().__init__()
        self.c = c_out // 2
        self.cv1 = ConvBnAct(c_in, 2 * self.c, 1)
        self.blocks = nn.ModuleList(Bottleneck(self.c) for _ in range(n))
        self.cv2 = ConvBnAct((2 + n) * self.c, c_out, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = list(self.cv1(x).chunk(2, 1))
        for b in self.blocks:
            y.append(b(y[-1]))
        return self.cv2(torch.cat(y, 1))


class SPPF(nn.Module):
    """Spatial pyramid pooling (fast): widens the receptive field at stride 32 for large vehicles."""

    def __init__(self, c: int):
        super().__init__()
        self.cv1 = ConvBnAct(c, c // 2, 1)
        self.cv2 = ConvBnAct(c // 2 * 4, c, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.cv1(x)
        y1 = F.max_pool2d(x, 5, 1, 2)
        y2 = F.max_pool2d(y1, 5, 1, 2)
        y3 = F.max_pool2d(y2, 5, 1, 2)
        return self.cv2(torch.cat([x, y1, y2, y3], 1))


class Head(nn.Module):
    """One level's decoupled head: a 3x3 conv branch for the box, another for the classes."""

    def __init__(self, c: int, num_classes: int, stride: int):
        super().__init__()
        ch = max(32, c)
        self.box = nn.Sequential(ConvBnAct(c, ch, 3), nn.Conv2d(ch, 4, 1))
        self.cls = nn.Sequential(ConvBnAct(c, ch, 3), nn.Conv2d(ch, num_classes, 1))
        # Start with a low prior for every class (focal-loss paper's init) so the first steps are not swamped by
        # easy background, and with boxes about 4 strides wide.
        nn.init.constant_(self.cls[-1].bias, -math.log((1 - 0.01) / 0.01))
        nn.init.constant_(self.box[-1].bias, math.log(math.e ** 2.0 - 1))  # softplus(b) = 2 strides per side

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        return self.box(x), self.cls(x)


class CityDetector(nn.Module):
    def __init__(self, num_classes: int = len(CLASS_NAMES), width: Sequence[int] = (16, 32, 64, 96, 128),
                 depth: Sequence[int] = (1, 2, 2, 1)):
        super().__init__()
        w = list(width)
        self.num_classes = num_classes
        self.strides = STRIDES
        self.stem = ConvBnAct(3, w[0], 3, 2)                                                   # /2
        self.s2 = nn.Sequential(ConvBnAct(w[0], w[1], 3, 2), CSPBlock(w[1], w[1], depth[0]))  # /4
        self.s3 = nn.Sequential(ConvBnAct(w[1], w[2], 3, 2), CSPBlock(w[2], w[2], depth[1]))  # /8
        self.s4 = nn.Sequential(ConvBnAct(w[2], w[3], 3, 2), CSPBlock(w[3], w[3], depth[2]))  # /16
        self.s5 = nn.Sequential(ConvBnAct(w[3], w[4], 3, 2), CSPBlock(w[4], w[4], depth[3]), SPPF(w[4]))  # /32
        # PAN neck
        self.td4 = CSPBlock(w[4] + w[3], w[3], 1)
        self.td3 = CSPBlock(w[3] + w[2], w[2], 1)
        self.down3 = ConvBnAct(w[2], w[2], 3, 2)
        self.bu4 = CSPBlock(w[2] + w[3], w[3], 1)
        self.down4 = ConvBnAct(w[3], w[3], 3, 2)
        self.bu5 = CSPBlock(w[3] + w[4], w[4], 1)
        self.heads = nn.ModuleList([Head(w[2], num_classes, 8), Head(w[3], num_classes, 16),
                                    Head(w[4], num_classes, 32)])

    def features(self, x: torch.Tensor) -> List[torch.Tensor]:
        c3 = self.s3(self.s2(self.stem(x)))
        c4 = self.s4(c3)
        c5 = self.s5(c4)
        p4 = self.td4(torch.cat([F.interpolate(c5, scale_factor=2.0, mode='nearest'), c4], 1))
        p3 = self.td3(torch.cat([F.interpolate(p4, scale_factor=2.0, mode='nearest'), c3], 1))
        n4 = self.bu4(torch.cat([self.down3(p3), p4], 1))
        n5 = self.bu5(torch.cat([self.down4(n4), c5], 1))
        return [p3, n4, n5]

    def forward_raw(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Training view: per-point side distances in pixels [B,N,4] (l,t,r,b), class logits [B,N,C], points [N,2]."""
        feats = self.features(x)
        dists, logits, points = [], [], []
        for f, head, s in zip(feats, self.heads, self.strides):
            b, c = head(f)
            B, _, h, w = b.shape
            dists.append((F.softplus(b) * s).flatten(2).transpose(1, 2))
            logits.append(c.flatten(2).transpose(1, 2))
            points.append(grid_points(h, w, s, x.device))
        return torch.cat(dists, 1), torch.cat(logits, 1), torch.cat(points, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Export view, Ultralytics layout: [B, 4 + C, N] with cx, cy, w, h (input pixels) and sigmoid scores."""
        d, logits, p = self.forward_raw(x)
        x1y1 = p - d[..., :2]
        x2y2 = p + d[..., 2:]
        cxcy = (x1y1 + x2y2) / 2
        wh = x2y2 - x1y1
        return torch.cat([cxcy, wh, logits.sigmoid()], 2).transpose(1, 2)


def grid_points(h: int, w: int, stride: int, device: torch.device) -> torch.Tensor:
    """Centres of a level's grid cells in input pixels, row-major like the flattened feature map: [h*w, 2] (x, y)."""
    ys = (torch.arange(h, device=device, dtype=torch.float32) + 0.5) * stride
    xs = (torch.arange(w, device=device, dtype=torch.float32) + 0.5) * stride
    gy, gx = torch.meshgrid(ys, xs, indexing='ij')
    return torch.stack([gx.reshape(-1), gy.reshape(-1)], 1)


def count_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())
