"""Training loss: task-aligned assignment (as in TOOD / YOLOv8), CIoU box loss, BCE with IoU-aware class targets.

Why this loss: an anchor-free head has thousands of grid points and a frame has a handful of objects, so which
points learn an object matters more than the loss formula. Task-aligned assignment picks, per object, the points
inside it whose current prediction is best on both counts, class score and box overlap (score^a * IoU^b), so the
points that will win NMS at test time are the ones trained, and there is no scale range to hand-tune per stride.
The class target of a positive point is its normalised alignment, not 1, so the class score also ranks box
quality, which is what NMS and a confidence threshold need. CIoU gives a gradient even for boxes that do not
overlap yet and penalises centre offset and aspect, converging faster than plain IoU or L1 on side distances.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List, Tuple

import torch
import torch.nn.functional as F


def box_iou_pairwise(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """IoU of every box in a [G,4] with every box in b [N,4] (xyxy) -> [G,N]."""
    lt = torch.max(a[:, None, :2], b[None, :, :2])
    rb = torch.min(a[:, None, 2:], b[None, :, 2:])
    inter = (rb - lt).clamp(min=0).prod(-1)
    area_a = (a[:, 2:] - a[:, :2]).clamp(min=0).prod(-1)
    area_b = (b[:, 2:] - b[:, :2]).clamp(min=0).prod(-1)
    return inter / (area_a[:, None] + area_b[None, :] - inter + 1e-9)


def ciou(a: torch.Tensor, b: torch.Tensor, eps: float = 1e-7) -> torch.Tensor:
    """Complete IoU of matching rows of a and b [M,4] (xyxy)."""
    aw, ah = a[:, 2] - a[:, 0], (a[:, 3] - a[:, 1]).clamp(min=eps)
    bw, bh = b[:, 2] - b[:, 0], (b[:, 3] - b[:, 1]).clamp(min=eps)
    iw = (torch.min(a[:, 2], b[:, 2]) - torch.max(a[:, 0], b[:, 0])).clamp(min=0)
    ih = (torch.min(a[:, 3], b[:, 3]) - torch.max(a[:, 1], b[:, 1])).clamp(min=0)
    inter = iw * ih
    union = aw * ah + bw * bh - inter + eps
    iou = inter / union
    cw = torch.max(a[:, 2], b[:, 2]) - torch.min(a[:, 0], b[:, 0])
    ch = torch.max(a[:, 3], b[:, 3]) - torch.min(a[:, 1], b[:, 1])
    c2 = cw ** 2 + ch ** 2 + eps
    rho2 = ((a[:, 0] + a[:, 2] - b[:, 0] - b[:, 2]) ** 2 + (a[:, 1] + a[:, 3] - b[:, 1] - b[:, 3]) ** 2) / 4
    v = (4 / math.pi ** 2) * (torch.atan(bw / bh) - torch.atan(aw / ah)) ** 2
    with torch.no_grad():
        alpha = v / (v - iou + (1 + eps))
    return iou - (rho2 / c2 + v * alpha)


@dataclass
class LossConfig:
    topk: int = 10
    alpha: float = 0.5   # weight of the class score in the alignment metric
    beta: float = 6.0    # weight of the IoU in the alignment metric
    box_weight: float = 7.5
    cls_weight: float = 1.0


class DetectionLoss:
    def __init__(self, num_classes: int, cfg: LossConfig = LossConfig()):
        self.nc = num_classes
        self.cfg = cfg

    @torch.no_grad()
    def assign(self, scores: torch.Tensor, boxes: torch.Tensor, points: torch.Tensor, strides: torch.Tensor,
               gt: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """For one image: target boxes [N,4], target class scores [N,C] and the positive mask [N].

        scores [N,C] sigmoid, boxes [N,4] predicted xyxy, points [N,2], strides [N], gt [G,5] (class, xyxy)."""
        N = points.shape[0]
        tgt_scores = torch.zeros_like(scores)
        tgt_boxes = torch.zeros_like(boxes)
        pos = torch.zeros(N, dtype=torch.bool, device=points.device)
        G = gt.shape[0]
        if G == 0:
            return tgt_boxes, tgt_scores, pos
        cls = gt[:, 0].long()
        gbox = gt[:, 1:]
        px, py = points[:, 0][None], points[:, 1][None]
        inside = (px > gbox[:, 0:1]) & (px < gbox[:, 2:3]) & (py > gbox[:, 1:2]) & (py < gbox[:, 3:4])
        # An object too small to contain any grid point still gets the finest-stride point nearest its centre.
        empty = ~inside.any(1)
        if empty.any():
            fine = strides == strides.min()
            gc = (gbox[empty, :2] + gbox[empty, 2:]) / 2
            d = ((points[None, :, :] - gc[:, None, :]) ** 2).sum(-1)
            d[:, ~fine] = float('inf')
            nearest = d.argmin(1)
            rows = empty.nonzero().squeeze(1)
            inside[rows, nearest] = True
        iou = box_iou_pairwise(gbox, boxes).clamp(min=0)             # [G,N]
        cls_score = scores[:, cls].T                                 # [G,N]
        metric = cls_score.pow(self.cfg.alpha) * iou.pow(self.cfg.beta)
        metric = torch.where(inside, metric, torch.full_like(metric, -1.0))
        k = min(self.cfg.topk, N)
        top = metric.topk(k, dim=1).indices                          # [G,k]
        cand = torch.zeros_like(inside)
        cand.scatter_(1, top, True)
        cand &= inside
        # A point chosen by several objects learns the one it overlaps most.
        multi = cand.sum(0) > 1
        if multi.any():
            best = torch.where(cand, iou, torch.full_like(iou, -1.0)).argmax(0)
            one = F.one_hot(best, G).T.bool()
            cand = torch.where(multi[None], one & cand, cand)
        pos = cand.any(0)
        gidx = cand.float().argmax(0)                                # [N] object of each positive point
        metric = metric.clamp(min=0) * cand
        # Normalise per object: its best point gets the object's best IoU as class target.
        max_metric = metric.max(1, keepdim=True).values
        max_iou = (iou * cand).max(1, keepdim=True).values
        norm = (metric * max_iou / (max_metric + 1e-9)).max(0).values  # [N]
        tgt_boxes[pos] = gbox[gidx[pos]]
        tgt_scores[pos, cls[gidx[pos]]] = norm[pos]
        return tgt_boxes, tgt_scores, pos

    def __call__(self, dists: torch.Tensor, logits: torch.Tensor, points: torch.Tensor, strides: torch.Tensor,
                 targets: List[torch.Tensor]) -> Tuple[torch.Tensor, dict]:
        B = dists.shape[0]
        pred_boxes = torch.cat([points[None] - dists[..., :2], points[None] + dists[..., 2:]], -1)  # [B,N,4]
        scores = logits.detach().sigmoid()
        tb, ts, tp = [], [], []
        for b in range(B):
            t_boxes, t_scores, pos = self.assign(scores[b], pred_boxes[b].detach(), points, strides, targets[b])
            tb.append(t_boxes)
            ts.append(t_scores)
            tp.append(pos)
        t_boxes, t_scores, pos = torch.stack(tb), torch.stack(ts), torch.stack(tp)
        norm = t_scores.sum().clamp(min=1.0)
        cls_loss = F.binary_cross_entropy_with_logits(logits, t_scores, reduction='sum') / norm
        if pos.any():
            w = t_scores.sum(-1)[pos]
            box_loss = ((1.0 - ciou(pred_boxes[pos], t_boxes[pos])) * w).sum() / norm
        else:
            box_loss = dists.sum() * 0.0
        loss = self.cfg.box_weight * box_loss + self.cfg.cls_weight * cls_loss
        return loss, {'box': float(box_loss), 'cls': float(cls_loss), 'pos': int(pos.sum())}


def point_strides(model, in_h: int, in_w: int) -> torch.Tensor:
    return torch.cat([torch.full(((in_h // s) * (in_w // s),), float(s)) for s in model.strides])
