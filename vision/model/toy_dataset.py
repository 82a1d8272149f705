"""A toy street dataset in the simulator's YOLO layout, to build and smoke-test the training code without it.

Coloured shapes on a road: wide boxes with windows and wheels (vehicle), tables with goods and an umbrella (stall),
tall bodies with a head (person). 1280x720 JPEGs, labels `class cx cy w h` normalised, split by seed like the
simulator's dataset. Not a substitute for the simulator: the committed model is trained on the simulator's frames.

    /usr/bin/python3 vision/model/toy_dataset.py --out /tmp/toy-ds --seeds 1-12 --val-seeds 11-12 --frames-per-seed 20
"""
from __future__ import annotations

import argparse
import os
import random

from PIL import Image, ImageDraw

W, H = 1280, 720


def rand_colour(rng: random.Random, lo: int = 30, hi: int = 230):
    return tuple(rng.randint(lo, hi) for _ in range(3))


def draw_vehicle(d: ImageDraw.ImageDraw, rng: random.Random, x: float, y: float, w: float):
    h = w * rng.uniform(0.45, 0.7)
    body = rand_colour(rng)
    d.rounded_rectangle([x, y + h * 0.3, x + w, y + h * 0.85], radius=int(h * 0.1), fill=body)
    d.polygon([(x + w * 0.2, y + h * 0.3), (x + w * 0.3, y), (x + w * 0.75, y), (x + w * 0.85, y + h * 0.3)], fill=body)
    d.rectangle([x + w * 0.33, y + h * 0.06, x + w * 0.72, y + h * 0.28], fill=(60, 80, 100))
    for cx in (x + w * 0.2, x + w * 0.8):
        r = h * 0.15
        d.ellipse([cx - r, y + h - 2 * r, cx + r, y + h], fill=(20, 20, 20))
    return [x, y, x + w, y + h]


def draw_stall(d: ImageDraw.ImageDraw, rng: random.Random, x: float, y: float, w: float):
    h = w * rng.uniform(0.6, 1.1)
    top = y + h * 0.45
    d.rectangle([x, top, x + w, top + h * 0.08], fill=rand_colour(rng))
    for lx in (x + 3, x + w - 8):
        d.rectangle([lx, top, lx + 5, y + h], fill=(90, 70, 50))
    for _ in range(rng.randint(3, 8)):
        gx = rng.uniform(x, x + w * 0.85)
        gw = rng.uniform(w * 0.08, w * 0.2)
        gh = rng.uniform(h * 0.05, h * 0.15)
        d.rectangle([gx, top - gh, gx + gw, top], fill=rand_colour(rng))
    if rng.random() < 0.6:  # umbrella over the table
        d.pieslice([x - w * 0.1, y, x + w * 1.1, y + h * 0.5], 180, 360, fill=rand_colour(rng))
        d.rectangle([x + w / 2 - 2, y + h * 0.25, x + w / 2 + 2, top], fill=(80, 80, 80))
        return [x - w * 0.1, y + h * 0.0, x + w * 1.1, y + h]
    return [x, top - h * 0.15, x + w, y + h]


def draw_person(d: ImageDraw.ImageDraw, rng: random.Random, x: float, y: float, h: float):
    w = h * rng.uniform(0.28, 0.4)
    skin = (rng.randint(170, 230), rng.randint(130, 190), rng.randint(100, 160))
    hr = h * 0.08
    d.ellipse([x + w / 2 - hr, y, x + w / 2 + hr, y + 2 * hr], fill=skin)
    d.rectangle([x, y + 2 * hr, x + w, y + h * 0.6], fill=rand_colour(rng))
    leg = rand_colour(rng, 10, 120)
    d.rectangle([x + w * 0.1, y + h * 0.6, x + w * 0.45, y + h], fill=leg)
    d.rectangle([x + w * 0.55, y + h * 0.6, x + w * 0.9, y + h], fill=leg)
    return [x, y, x + w, y + h]


def scene(rng: random.Random):
    img = Image.new('RGB', (W, H), rand_colour(rng, 120, 200))
    d = ImageDraw.Draw(img)
    horizon = rng.randint(180, 300)
    for i in range(rng.randint(3, 7)):  # buildings
        bx = rng.randint(-100, W)
        d.rectangle([bx, rng.randint(0, horizon - 50), bx + rng.randint(150, 400), horizon], fill=rand_colour(rng))
    d.rectangle([0, horizon, W, horizon + 120], fill=rand_colour(rng, 150, 200))  # pavement
    d.rectangle([0, horizon + 120, W, H], fill=(rng.randint(70, 110),) * 3)  # road
    for x in range(0, W, 160):
        d.rectangle([x, horizon + 330, x + 80, horizon + 338], fill=(230, 230, 230))
    boxes = []
    objs = []
    for _ in range(rng.randint(0, 4)):
        objs.append((0, rng.uniform(-50, W - 200), rng.uniform(horizon + 60, H - 200), rng.uniform(150, 480)))
    for _ in range(rng.randint(0, 3)):
        objs.append((1, rng.uniform(0, W - 200), rng.uniform(horizon - 80, horizon + 60), rng.uniform(80, 200)))
    for _ in range(rng.randint(0, 5)):
        objs.append((2, rng.uniform(0, W - 60), rng.uniform(horizon - 60, H - 160), rng.uniform(60, 150)))
    objs.sort(key=lambda o: o[2])  # paint far to near
    for cls, x, y, s in objs:
        if cls == 0:
            b = draw_vehicle(d, rng, x, y, s)
        elif cls == 1:
            b = draw_stall(d, rng, x, y, s)
        else:
            b = draw_person(d, rng, x, y, s)
        x1, y1, x2, y2 = max(0, b[0]), max(0, b[1]), min(W, b[2]), min(H, b[3])
        if x2 - x1 > 8 and y2 - y1 > 8:
            boxes.append((cls, x1, y1, x2, y2))
    return img, boxes


def parse_range(s: str):
    out = []
    for part in s.split(','):
        a, _, b = part.partition('-')
        out.extend(range(int(a), int(b or a) + 1))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--out', required=True)
    ap.add_argument('--seeds', default='1-12')
    ap.add_argument('--val-seeds', default='11-12')
    ap.add_argument('--frames-per-seed', type=int, default=20)
    a = ap.parse_args()
    val = set(parse_range(a.val_seeds))
    for split in ('train', 'val'):
        os.makedirs(os.path.join(a.out, 'images', split), exist_ok=True)
        os.makedirs(os.path.join(a.out, 'labels', split), exist_ok=True)
    for seed in parse_range(a.seeds):
        split = 'val' if seed in val else 'train'
        rng = random.Random(seed)
        for k in range(a.frames_per_seed):
            img, boxes = scene(rng)
            name = f's{seed:04d}-f{k:04d}'
            img.save(os.path.join(a.out, 'images', split, name + '.jpg'), quality=85)
            with open(os.path.join(a.out, 'labels', split, name + '.txt'), 'w') as f:
                for c, x1, y1, x2, y2 in boxes:
                    f.write(f'{c} {(x1 + x2) / 2 / W:.6f} {(y1 + y2) / 2 / H:.6f} {(x2 - x1) / W:.6f} {(y2 - y1) / H:.6f}\n')
    with open(os.path.join(a.out, 'data.yaml'), 'w') as f:
        f.write(f'path: {os.path.abspath(a.out)}\ntrain: images/train\nval: images/val\n'
                "names:\n  0: vehicle\n  1: stall\n  2: person\n")


if __name__ == '__main__':
    main()
