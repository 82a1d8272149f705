"""YOLO-format datasets: reading data.yaml, letterboxing exactly like the runtime, and training augmentation.

Images are decoded once and kept in memory, downscaled to a cache size a little larger than the model's input,
so an epoch costs no JPEG decoding; each sample is then a random rescale, crop or placement, flip and colour
change of a cached image (or a 2x2 mosaic of four), which is what lets a small model generalise from a few
thousand simulated frames to seeds and layouts it never saw.
"""
from __future__ import annotations

import glob
import math
import os
import random
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import yaml
from PIL import Image, ImageFilter

PAD_VALUE = 114
IMAGE_EXTS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp')


class DatasetError(Exception):
    """A dataset that cannot be used as given: the message says what and where."""


@dataclass
class DatasetSpec:
    root: str
    train: List[str]  # image paths
    val: List[str]
    names: Dict[int, str]


def _list_images(root: str, entry: str) -> List[str]:
    p = entry if os.path.isabs(entry) else os.path.join(root, entry)
    if os.path.isdir(p):
        files = sorted(f for f in glob.glob(os.path.join(p, '**', '*'), recursive=True)
                       if f.lower().endswith(IMAGE_EXTS))
    elif os.path.isfile(p) and p.endswith('.txt'):
        with open(p) as fh:
            files = [ln.strip() for ln in fh if ln.strip()]
        files = [f if os.path.isabs(f) else os.path.normpath(os.path.join(root, f)) for f in files]
    else:
        raise DatasetError(f'{p}: not a folder of images nor a .txt list of images')
    if not files:
        raise DatasetError(f'{p}: no images')
    return files


def read_data_yaml(path: str, splits: Sequence[str] = ('train', 'val')) -> DatasetSpec:
    """Read an Ultralytics-style data.yaml (path, train, val, names as a list or a {id: name} map).

    Only the named splits must hold images (a test set may have an empty train split)."""
    if os.path.isdir(path):
        path = os.path.join(path, 'data.yaml')
    if not os.path.isfile(path):
        raise DatasetError(f'{path}: no data.yaml (make one with the simulator, see vision/model/README.md)')
    with open(path) as fh:
        cfg = yaml.safe_load(fh) or {}
    if not isinstance(cfg, dict):
        raise DatasetError(f'{path}: expected a mapping')
    root = cfg.get('path') or os.path.dirname(os.path.abspath(path))
    if not os.path.isabs(root):
        root = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(path)), root))
    if not os.path.isdir(root):  # a dataset moved after it was written: fall back to where data.yaml is
        root = os.path.dirname(os.path.abspath(path))
    names = cfg.get('names')
    if isinstance(names, list):
        names = {i: str(n) for i, n in enumerate(names)}
    elif isinstance(names, dict):
        names = {int(k): str(v) for k, v in names.items()}
    else:
        raise DatasetError(f'{path}: "names" must be a list or a map of class id to name')
    found: Dict[str, List[str]] = {'train': [], 'val': []}
    for key in splits:
        entry = cfg.get(key)
        if entry is None:
            raise DatasetError(f'{path}: no "{key}" split')
        entries = entry if isinstance(entry, list) else [entry]
        found[key] = [f for e in entries for f in _list_images(root, str(e))]
    overlap = set(found['train']) & set(found['val'])
    if overlap:
        raise DatasetError(f'{path}: {len(overlap)} images are in both train and val, e.g. {sorted(overlap)[0]}')
    return DatasetSpec(root=root, train=found['train'], val=found['val'], names=names)


def label_path(image_path: str) -> str:
    """images/.../x.jpg -> labels/.../x.txt (the YOLO convention: the last 'images' folder becomes 'labels')."""
    head, base = os.path.split(image_path)
    parts = head.split(os.sep)
    for i in range(len(parts) - 1, -1, -1):
        if parts[i] == 'images':
            parts[i] = 'labels'
            break
    return os.path.join(os.sep.join(parts), os.path.splitext(base)[0] + '.txt')


def read_labels(image_path: str, w: int, h: int, num_classes: int) -> np.ndarray:
    """Boxes of one image as [n, 5] float32: class, x1, y1, x2, y2 in the image's pixels."""
    p = label_path(image_path)
    if not os.path.exists(p):
        return np.zeros((0, 5), np.float32)  # an image without a label file has no objects (YOLO convention)
    rows = []
    with open(p) as fh:
        for ln, line in enumerate(fh, 1):
            f = line.split()
            if not f:
                continue
            if len(f) != 5:
                raise DatasetError(f'{p}:{ln}: expected "class cx cy w h", got {line.strip()!r}')
            c, cx, cy, bw, bh = int(f[0]), float(f[1]), float(f[2]), float(f[3]), float(f[4])
            if not 0 <= c < num_classes:
                raise DatasetError(f'{p}:{ln}: class {c} is not one of 0..{num_classes - 1}')
            rows.append([c, (cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h])
    b = np.array(rows, np.float32).reshape(-1, 5)
    b[:, [1, 3]] = b[:, [1, 3]].clip(0, w)
    b[:, [2, 4]] = b[:, [2, 4]].clip(0, h)
    return b


def letterbox_params(w: int, h: int, in_w: int, in_h: int) -> Tuple[float, int, int, int, int]:
    """Scale, resized size and centred padding (left, top) that fit a w x h image into in_w x in_h.

    Must match the TypeScript runtime: r = min(in_w / w, in_h / h); size = round(w * r), round(h * r);
    pad = floor((in - size) / 2) on the left/top, the rest on the right/bottom, filled with 114."""
    r = min(in_w / w, in_h / h)
    nw, nh = int(round(w * r)), int(round(h * r))
    return r, nw, nh, (in_w - nw) // 2, (in_h - nh) // 2


def letterbox(img: Image.Image, in_w: int, in_h: int) -> Tuple[np.ndarray, float, int, int]:
    """RGB uint8 HxWx3 letterboxed image, and the scale and padding to map boxes back."""
    r, nw, nh, px, py = letterbox_params(img.width, img.height, in_w, in_h)
    canvas = np.full((in_h, in_w, 3), PAD_VALUE, np.uint8)
    canvas[py:py + nh, px:px + nw] = np.asarray(img.convert('RGB').resize((nw, nh), Image.BILINEAR))
    return canvas, r, px, py


@dataclass
class CachedImage:
    pixels: np.ndarray  # HxWx3 uint8, downscaled
    boxes: np.ndarray   # [n, 5] class, x1, y1, x2, y2 in the cached pixels
    path: str
    orig_size: Tuple[int, int]


def load_cache(paths: Sequence[str], num_classes: int, max_w: int, max_h: int, log=print) -> List[CachedImage]:
    out = []
    for i, p in enumerate(paths):
        try:
            with Image.open(p) as im:
                im = im.convert('RGB')
                w, h = im.size
                r = min(max_w / w, max_h / h, 1.0)
                nw, nh = int(round(w * r)), int(round(h * r))
                pixels = np.asarray(im.resize((nw, nh), Image.BILINEAR) if r < 1 else im)
        except OSError as e:
            raise DatasetError(f'{p}: cannot read image ({e})') from e
        b = read_labels(p, w, h, num_classes)
        b[:, 1:] *= np.float32(nw / w)
        out.append(CachedImage(pixels=pixels, boxes=b, path=p, orig_size=(w, h)))
        if (i + 1) % 500 == 0:
            log(f'  cached {i + 1}/{len(paths)} images')
    return out


@dataclass
class AugmentConfig:
    scale: Tuple[float, float] = (0.6, 1.5)  # relative to the letterbox scale
    mosaic: float = 0.3                       # probability of a 2x2 mosaic sample
    flip: float = 0.5
    brightness: float = 0.35
    contrast: float = 0.3
    saturation: float = 0.5
    channel_gain: float = 0.08                # white-balance shift per channel
    blur: float = 0.15                        # probability of a slight blur (defocus, compression)
    noise: float = 0.2                        # probability of sensor noise
    min_visible: float = 0.35                 # drop boxes with less of their area inside the crop
    min_size: float = 3.0                     # drop boxes narrower/shorter than this many input pixels


def _place(canvas: np.ndarray, img: np.ndarray, boxes: np.ndarray, s: float, ox: float, oy: float,
           clip: Tuple[int, int, int, int]) -> np.ndarray:
    """Resize img by s, paste with its top-left at (ox, oy) on canvas restricted to clip (x1, y1, x2, y2)."""
    h, w = img.shape[:2]
    nw, nh = max(1, int(round(w * s))), max(1, int(round(h * s)))
    ox, oy = int(round(ox)), int(round(oy))
    cx1, cy1, cx2, cy2 = clip
    x1, y1, x2, y2 = max(ox, cx1), max(oy, cy1), min(ox + nw, cx2), min(oy + nh, cy2)
    if x2 <= x1 or y2 <= y1:
        return np.zeros((0, 5), np.float32)
    resized = np.asarray(Image.fromarray(img).resize((nw, nh), Image.BILINEAR))
    canvas[y1:y2, x1:x2] = resized[y1 - oy:y2 - oy, x1 - ox:x2 - ox]
    b = boxes.copy()
    b[:, 1:] = b[:, 1:] * np.float32(nw / w)
    b[:, [1, 3]] += ox
    b[:, [2, 4]] += oy
    return _clip_boxes(b, (x1, y1, x2, y2))


def _clip_boxes(b: np.ndarray, clip: Tuple[int, int, int, int], min_visible: float = 0.35,
                min_size: float = 3.0) -> np.ndarray:
    if len(b) == 0:
        return b
    area = (b[:, 3] - b[:, 1]) * (b[:, 4] - b[:, 2])
    c = b.copy()
    c[:, [1, 3]] = c[:, [1, 3]].clip(clip[0], clip[2])
    c[:, [2, 4]] = c[:, [2, 4]].clip(clip[1], clip[3])
    w, h = c[:, 3] - c[:, 1], c[:, 4] - c[:, 2]
    keep = (w >= min_size) & (h >= min_size) & (w * h >= min_visible * np.maximum(area, 1e-6))
    return c[keep]


class TrainSampler:
    """Builds augmented training samples from the cache.

    Objects keep the scale they have at the model's input (in_w x in_h, times the jitter) whatever the sample's
    size: a sample smaller than the input is a random window of the letterboxed frame, which trains the same
    convolutions on the same object sizes for a fraction of the compute (the detector is fully convolutional)."""

    def __init__(self, cache: List[CachedImage], in_w: int, in_h: int, aug: AugmentConfig, seed: int):
        self.cache, self.in_w, self.in_h, self.aug = cache, in_w, in_h, aug
        self.rng = random.Random(seed)

    def _base_scale(self, img: np.ndarray) -> float:
        h, w = img.shape[:2]
        return min(self.in_w / w, self.in_h / h)

    def single(self, idx: int, W: int, H: int) -> Tuple[np.ndarray, np.ndarray]:
        a, rng = self.aug, self.rng
        item = self.cache[idx]
        canvas = np.full((H, W, 3), PAD_VALUE, np.uint8)
        s = self._base_scale(item.pixels) * math.exp(rng.uniform(math.log(a.scale[0]), math.log(a.scale[1])))
        h, w = item.pixels.shape[:2]
        nw, nh = w * s, h * s
        # Larger than the canvas: a random window; smaller: a random place (centred, as the runtime does, half the time).
        ox = rng.uniform(W - nw, 0) if nw > W else ((W - nw) / 2 if rng.random() < 0.5 else rng.uniform(0, W - nw))
        oy = rng.uniform(H - nh, 0) if nh > H else ((H - nh) / 2 if rng.random() < 0.5 else rng.uniform(0, H - nh))
        boxes = _place(canvas, item.pixels, item.boxes, s, ox, oy, (0, 0, W, H))
        return canvas, boxes

    def mosaic(self, idxs: Sequence[int], W: int, H: int) -> Tuple[np.ndarray, np.ndarray]:
        rng = self.rng
        canvas = np.full((H, W, 3), PAD_VALUE, np.uint8)
        mx, my = rng.uniform(0.3, 0.7) * W, rng.uniform(0.3, 0.7) * H
        quads = [(0, 0, mx, my), (mx, 0, W, my), (0, my, mx, H), (mx, my, W, H)]
        all_boxes = []
        for q, idx in zip(quads, idxs):
            item = self.cache[idx]
            h, w = item.pixels.shape[:2]
            s = self._base_scale(item.pixels) * rng.uniform(0.5, 1.0)
            nw, nh = w * s, h * s
            qx1, qy1, qx2, qy2 = (int(round(v)) for v in q)
            # anchor the image at the mosaic centre, offset randomly so different parts of it show
            ox = ((qx2 - nw) if qx1 == 0 else qx1) + rng.uniform(-0.2, 0.2) * nw
            oy = ((qy2 - nh) if qy1 == 0 else qy1) + rng.uniform(-0.2, 0.2) * nh
            all_boxes.append(_place(canvas, item.pixels, item.boxes, s, ox, oy, (qx1, qy1, qx2, qy2)))
        return canvas, np.concatenate(all_boxes, 0)

    def colour(self, img: np.ndarray) -> np.ndarray:
        a, rng = self.aug, self.rng
        x = img.astype(np.float32)
        gray = x.mean(axis=2, keepdims=True)
        x = gray + (x - gray) * rng.uniform(1 - a.saturation, 1 + a.saturation)
        mean = x.mean()
        x = mean + (x - mean) * rng.uniform(1 - a.contrast, 1 + a.contrast)
        x = x * rng.uniform(1 - a.brightness, 1 + a.brightness)
        x = x * np.array([rng.uniform(1 - a.channel_gain, 1 + a.channel_gain) for _ in range(3)], np.float32)
        if rng.random() < a.noise:
            nrng = np.random.default_rng(rng.getrandbits(32))
            x = x + nrng.normal(0, rng.uniform(2, 8), x.shape).astype(np.float32)
        out = x.clip(0, 255).astype(np.uint8)
        if rng.random() < a.blur:
            out = np.asarray(Image.fromarray(out).filter(ImageFilter.GaussianBlur(rng.uniform(0.4, 1.2))))
        return out

    def sample(self, idx: int, use_mosaic: bool, size: Optional[Tuple[int, int]] = None) -> Tuple[np.ndarray, np.ndarray]:
        """One augmented sample of size (W, H) (the model's input size by default): HxWx3 uint8, [n,5] boxes."""
        W, H = size or (self.in_w, self.in_h)
        if use_mosaic and self.rng.random() < self.aug.mosaic:
            idxs = [idx] + [self.rng.randrange(len(self.cache)) for _ in range(3)]
            img, boxes = self.mosaic(idxs, W, H)
        else:
            img, boxes = self.single(idx, W, H)
        if self.rng.random() < self.aug.flip:
            img = img[:, ::-1]
            if len(boxes):
                x1 = W - boxes[:, 3]
                x2 = W - boxes[:, 1]
                boxes = boxes.copy()
                boxes[:, 1], boxes[:, 3] = x1, x2
        boxes = _clip_boxes(boxes, (0, 0, W, H), self.aug.min_visible, self.aug.min_size)
        return self.colour(np.ascontiguousarray(img)), boxes


def batches(n: int, batch_size: int, rng: random.Random, drop_last: bool = True) -> List[List[int]]:
    order = list(range(n))
    rng.shuffle(order)
    out = [order[i:i + batch_size] for i in range(0, n, batch_size)]
    if drop_last and len(out) > 1 and len(out[-1]) < batch_size:
        out.pop()
    return out


def to_tensor_batch(images: List[np.ndarray]):
    import torch
    x = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float().div_(255.0)
    return x.contiguous()
