"""Decoding, class-wise NMS and VOC-style mAP@0.5, in numpy only so the ONNX check (another interpreter, with
onnxruntime but without torch) runs the very same code as training."""
from __future__ import annotations

from typing import Dict, List, Sequence, Tuple

import numpy as np


def iou_one_to_many(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    x1 = np.maximum(box[0], boxes[:, 0])
    y1 = np.maximum(box[1], boxes[:, 1])
    x2 = np.minimum(box[2], boxes[:, 2])
    y2 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    a = (box[2] - box[0]) * (box[3] - box[1])
    b = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum(a + b - inter, 1e-9)


def nms(boxes: np.ndarray, scores: np.ndarray, iou_thr: float) -> List[int]:
    order = np.argsort(-scores, kind='stable')
    keep: List[int] = []
    while order.size:
        i = int(order[0])
        keep.append(i)
        if order.size == 1:
            break
        rest = order[1:]
        order = rest[iou_one_to_many(boxes[i], boxes[rest]) <= iou_thr]
    return keep


def decode(output: np.ndarray, conf: float = 0.001, iou_thr: float = 0.6, max_det: int = 300,
           pre_nms: int = 1000) -> np.ndarray:
    """One image's [4 + C, N] output -> [M, 6] x1, y1, x2, y2, score, class (input pixels), class-wise NMS.

    Like the TypeScript runtime: each point votes for its best class only (the YOLOv8 convention)."""
    out = output.T  # [N, 4 + C]
    cls_scores = out[:, 4:]
    cls = cls_scores.argmax(1)
    score = cls_scores[np.arange(len(cls)), cls]
    m = score > conf
    if not m.any():
        return np.zeros((0, 6), np.float32)
    out, cls, score = out[m], cls[m], score[m]
    if len(score) > pre_nms:
        top = np.argsort(-score, kind='stable')[:pre_nms]
        out, cls, score = out[top], cls[top], score[top]
    xyxy = np.stack([out[:, 0] - out[:, 2] / 2, out[:, 1] - out[:, 3] / 2,
                     out[:, 0] + out[:, 2] / 2, out[:, 1] + out[:, 3] / 2], 1)
    dets = []
    for c in np.unique(cls):
        idx = np.nonzero(cls == c)[0]
        for k in nms(xyxy[idx], score[idx], iou_thr):
            i = idx[k]
            dets.append([*xyxy[i], score[i], c])
    d = np.array(dets, np.float32).reshape(-1, 6)
    d = d[np.argsort(-d[:, 4], kind='stable')][:max_det]
    return d


def unletterbox(dets: np.ndarray, r: float, px: int, py: int, w: int, h: int) -> np.ndarray:
    d = dets.copy()
    d[:, [0, 2]] = ((d[:, [0, 2]] - px) / r).clip(0, w)
    d[:, [1, 3]] = ((d[:, [1, 3]] - py) / r).clip(0, h)
    return d


def voc_ap(recall: np.ndarray, precision: np.ndarray) -> float:
    """All-point interpolated average precision (VOC 2010+): area under the monotone precision envelope."""
    mrec = np.concatenate([[0.0], recall, [1.0]])
    mpre = np.concatenate([[1.0], precision, [0.0]])
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    i = np.nonzero(mrec[1:] != mrec[:-1])[0]
    return float(np.sum((mrec[i + 1] - mrec[i]) * mpre[i + 1]))


def evaluate(dets: Sequence[np.ndarray], gts: Sequence[np.ndarray], num_classes: int, iou_thr: float = 0.5,
             op_conf: Sequence[float] = (0.25, 0.4, 0.5)) -> Dict:
    """mAP@iou_thr per class over images.

    dets[i]: [M,6] x1,y1,x2,y2,score,class; gts[i]: [G,5] class,x1,y1,x2,y2 (same pixels).
    A detection is a true positive if it overlaps an unmatched object of its class by >= iou_thr, taking the
    highest-scored detections first (each object matches at most once; the rest are false positives).
    Also gives precision and recall at a few operating confidences, which is what the runtime uses."""
    per_class = {}
    for c in range(num_classes):
        records: List[Tuple[float, int]] = []
        n_gt = 0
        for d, g in zip(dets, gts):
            gc = g[g[:, 0] == c][:, 1:]
            n_gt += len(gc)
            dc = d[d[:, 5] == c]
            dc = dc[np.argsort(-dc[:, 4], kind='stable')]
            used = np.zeros(len(gc), bool)
            for row in dc:
                tp = 0
                if len(gc):
                    ious = iou_one_to_many(row[:4], gc)
                    ious[used] = -1
                    j = int(ious.argmax())
                    if ious[j] >= iou_thr:
                        used[j] = True
                        tp = 1
                records.append((float(row[4]), tp))
        records.sort(key=lambda t: -t[0])
        scores = np.array([r[0] for r in records])
        tps = np.array([r[1] for r in records], np.float64)
        ctp, cfp = np.cumsum(tps), np.cumsum(1 - tps)
        recall = ctp / max(n_gt, 1)
        precision = ctp / np.maximum(ctp + cfp, 1e-9)
        ap = voc_ap(recall, precision) if n_gt else float('nan')
        ops = {}
        for t in op_conf:
            m = scores >= t
            tp = float(tps[m].sum())
            ops[str(t)] = {'precision': round(tp / max(m.sum(), 1), 4), 'recall': round(tp / max(n_gt, 1), 4)}
        per_class[c] = {'ap50': ap, 'objects': n_gt, 'detections': len(records), 'at_conf': ops}
    aps = [v['ap50'] for v in per_class.values() if not np.isnan(v['ap50'])]
    return {'map50': float(np.mean(aps)) if aps else float('nan'), 'per_class': per_class}
