#!/usr/bin/python3
"""Train the city detector from scratch on a YOLO-format dataset, evaluate it on the held-out split, export ONNX.

    /usr/bin/python3 vision/model/train.py --data /tmp/city-ds --epochs 30 --out vision/model/

Writes OUT/city-detector.onnx and OUT/report.json; checkpoints go to --workdir (not the repository). Runs on the
CPU with Debian's python3-torch (2 threads). If a Python with onnxruntime is found (--ort-python, default the
`python3` on PATH), check_onnx.py then compares the ONNX model with PyTorch and measures its speed.
"""
from __future__ import annotations

import argparse
import copy
import json
import math
import os
import platform
import random
import shutil
import subprocess
import sys
import time
from typing import Dict, List

import numpy as np
import torch

sys.dont_write_bytecode = True  # no __pycache__ in the repository
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from data import (AugmentConfig, DatasetError, TrainSampler, batches, letterbox_params, load_cache,  # noqa: E402
                  read_data_yaml, read_labels, to_tensor_batch, PAD_VALUE)
from detector import CLASS_NAMES, CityDetector, count_params  # noqa: E402
from evaluate import decode, evaluate, unletterbox  # noqa: E402
from export import export_onnx  # noqa: E402
from loss import DetectionLoss, LossConfig, point_strides  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def shown(path: str) -> str:
    """A path for the committed report: the home folder as ~, so it says nothing about the machine's user."""
    p, home = os.path.abspath(path), os.path.expanduser('~')
    return '~' + p[len(home):] if home != '/' and p.startswith(home + os.sep) else p


def log(msg: str) -> None:
    print(f'[{time.strftime("%H:%M:%S")}] {msg}', flush=True)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


class ModelEMA:
    """Exponential moving average of the weights (decay ramps up over the first steps); the EMA is what ships."""

    def __init__(self, model: torch.nn.Module, decay: float = 0.9995, tau: float = 1000.0):
        self.ema = copy.deepcopy(model).eval()
        for p in self.ema.parameters():
            p.requires_grad_(False)
        self.decay, self.tau, self.updates = decay, tau, 0

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        self.updates += 1
        d = self.decay * (1 - math.exp(-self.updates / self.tau))
        msd = model.state_dict()
        for k, v in self.ema.state_dict().items():
            if v.dtype.is_floating_point:
                v.mul_(d).add_(msd[k].detach(), alpha=1 - d)
            else:
                v.copy_(msd[k])


def parse_size(s: str):
    try:
        w, h = (int(v) for v in s.lower().split('x'))
    except ValueError:
        raise SystemExit(f'--imgsz must be WIDTHxHEIGHT, e.g. 512x288, got {s!r}')
    if w % 32 or h % 32 or w <= 0 or h <= 0:
        raise SystemExit(f'--imgsz {s}: width and height must be positive multiples of 32')
    return w, h


class ValSet:
    """Held-out images letterboxed exactly as the runtime does, with objects in the original pixels."""

    def __init__(self, paths: List[str], num_classes: int, in_w: int, in_h: int):
        from PIL import Image
        self.inputs, self.geom, self.gts, self.paths = [], [], [], paths
        for p in paths:
            with Image.open(p) as im:
                im = im.convert('RGB')
                w, h = im.size
                r, nw, nh, px, py = letterbox_params(w, h, in_w, in_h)
                canvas = np.full((in_h, in_w, 3), PAD_VALUE, np.uint8)
                canvas[py:py + nh, px:px + nw] = np.asarray(im.resize((nw, nh), Image.BILINEAR))
            self.inputs.append(canvas)
            self.geom.append((r, px, py, w, h))
            self.gts.append(read_labels(p, w, h, num_classes))

    def boxes_per_class(self, nc: int) -> List[int]:
        return [int(sum((g[:, 0] == c).sum() for g in self.gts)) for c in range(nc)]


@torch.no_grad()
def predict(model: torch.nn.Module, images: List[np.ndarray], batch: int = 16) -> List[np.ndarray]:
    model.eval()
    outs = []
    for i in range(0, len(images), batch):
        y = model(to_tensor_batch(images[i:i + batch])).numpy()
        outs.extend(y)
    return outs


def run_eval(model: torch.nn.Module, val: ValSet, nc: int) -> Dict:
    outs = predict(model, val.inputs)
    dets = [unletterbox(decode(o), *g) for o, g in zip(outs, val.geom)]
    return evaluate(dets, val.gts, nc)


@torch.no_grad()
def recalibrate_bn(model: torch.nn.Module, sampler: TrainSampler, batch: int, size, batches_n: int) -> None:
    """Recompute BatchNorm statistics for the final (EMA) weights on whole-frame training samples.

    The EMA averages running statistics that were gathered under earlier weights; exact statistics for the
    weights that ship remove that lag (seen on short runs as a large gap between train- and eval-mode loss)."""
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the batches below
    model.train()
    n = len(sampler.cache)
    for b in range(batches_n):
        idxs = [(b * batch + i) % n for i in range(batch)]
        imgs = [sampler.sample(i, False, size)[0] for i in idxs]
        model(to_tensor_batch(imgs).contiguous(memory_format=torch.channels_last))
    for m in bns:
        m.momentum = 0.03
    model.eval()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--data', required=True, help='dataset folder or its data.yaml (YOLO format)')
    ap.add_argument('--out', default=HERE, help='where city-detector.onnx and report.json go')
    ap.add_argument('--workdir', default=os.path.expanduser('~/.cache/city-sensing/vision/run'),
                    help='checkpoints and intermediate files (not the repository)')
    ap.add_argument('--epochs', type=int, default=30)
    ap.add_argument('--batch', type=int, default=16)
    ap.add_argument('--imgsz', default='512x288', help='model input WIDTHxHEIGHT, multiples of 32')
    ap.add_argument('--lr', type=float, default=2e-3, help='AdamW peak learning rate')
    ap.add_argument('--weight-decay', type=float, default=0.01)
    ap.add_argument('--crop', default='384x224',
                    help='training sample WIDTHxHEIGHT before the final phase: windows of the letterboxed frame at '
                         'full object scale, cheaper than whole frames ("" for whole frames throughout)')
    ap.add_argument('--final-phase', type=float, default=0.25,
                    help='fraction of final epochs on whole frames without mosaic, as the runtime sees them')
    ap.add_argument('--test', action='append', default=[],
                    help='extra held-out dataset (its val split) to report mAP on, e.g. an unseen layout family; '
                         'never used for training or for choices; may be repeated')
    ap.add_argument('--eval-every', type=int, default=5, help='epochs between val mAP reports (0: only at the end)')
    ap.add_argument('--max-minutes', type=float, default=40.0,
                    help='training time budget: after the first epoch the number of epochs is cut once to fit it '
                         '(the machine is shared, so speed varies), and training stops if it still runs over; '
                         '0 for no budget (exactly --epochs, reproducible)')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--max-train-images', type=int, default=0, help='use only the first N train images (0: all)')
    ap.add_argument('--ort-python', default='python3', help='a Python with onnxruntime for the ONNX check ("" to skip)')
    ap.add_argument('--resume', action='store_true', help='continue from WORKDIR/last.pt')
    a = ap.parse_args()

    in_w, in_h = parse_size(a.imgsz)
    crop = parse_size(a.crop) if a.crop else (in_w, in_h)
    if crop[0] > in_w or crop[1] > in_h:
        raise SystemExit(f'--crop {a.crop} is larger than --imgsz {a.imgsz}')
    torch.set_num_threads(a.threads)
    seed_everything(a.seed)
    os.makedirs(a.workdir, exist_ok=True)
    os.makedirs(a.out, exist_ok=True)

    try:
        spec = read_data_yaml(a.data)
    except DatasetError as e:
        raise SystemExit(f'dataset: {e}')
    names = [spec.names[i] for i in sorted(spec.names)]
    if tuple(names) != CLASS_NAMES:
        log(f'note: dataset classes {names} differ from the default {list(CLASS_NAMES)}; training on the dataset\'s')
    nc = len(names)
    train_paths = spec.train[:a.max_train_images] if a.max_train_images else spec.train
    t0 = time.time()
    log(f'caching {len(train_paths)} train images')
    try:
        cache = load_cache(train_paths, nc, int(in_w * 1.25), int(in_h * 1.25), log)
        log(f'letterboxing {len(spec.val)} val images')
        val = ValSet(spec.val, nc, in_w, in_h)
        tests = {}
        for tpath in a.test:
            tspec = read_data_yaml(tpath, splits=('val',))
            tests[tpath] = ValSet(tspec.val, nc, in_w, in_h)
            log(f'letterboxed {len(tspec.val)} test images of {tpath}')
    except DatasetError as e:
        raise SystemExit(f'dataset: {e}')
    log(f'data ready in {time.time() - t0:.0f}s')

    model = CityDetector(num_classes=nc)
    # channels_last lets oneDNN pick its fast CPU convolution kernels: about twice as fast a step here.
    model = model.to(memory_format=torch.channels_last)
    log(f'model: {count_params(model)} parameters, input {in_w}x{in_h}')
    stride_cache: Dict = {}

    def strides_for(h: int, w: int) -> torch.Tensor:
        if (h, w) not in stride_cache:
            stride_cache[(h, w)] = point_strides(model, h, w)
        return stride_cache[(h, w)]

    strides = strides_for(in_h, in_w)
    criterion = DetectionLoss(nc, LossConfig())
    decay, no_decay = [], []
    for n_, p in model.named_parameters():
        (no_decay if p.ndim <= 1 else decay).append(p)
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': a.weight_decay},
                             {'params': no_decay, 'weight_decay': 0.0}], lr=a.lr, betas=(0.9, 0.999))
    ema = ModelEMA(model)
    sampler = TrainSampler(cache, in_w, in_h, AugmentConfig(), seed=a.seed)
    order_rng = random.Random(a.seed + 1)
    steps_per_epoch = max(1, len(cache) // a.batch)
    warmup = min(300, steps_per_epoch * a.epochs // 10)
    history: List[Dict] = []
    start_epoch, train_seconds = 0, 0.0
    ckpt_path = os.path.join(a.workdir, 'last.pt')
    if a.resume and os.path.exists(ckpt_path):
        ck = torch.load(ckpt_path)
        model.load_state_dict(ck['model'])
        ema.ema.load_state_dict(ck['ema'])
        ema.updates = ck['ema_updates']
        opt.load_state_dict(ck['opt'])
        start_epoch, history, train_seconds = ck['epoch'], ck['history'], ck['train_seconds']
        a.epochs = ck['epochs']  # as fitted to the budget by the interrupted run
        sampler.rng.setstate(ck['sampler_rng'])
        order_rng.setstate(ck['order_rng'])
        torch.set_rng_state(ck['torch_rng'])
        log(f'resumed at epoch {start_epoch}')

    def lr_at(step: int) -> float:
        total_steps = steps_per_epoch * a.epochs
        if step < warmup:
            return a.lr * (0.1 + 0.9 * step / warmup)
        t = (step - warmup) / max(1, total_steps - warmup)
        return a.lr * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * t)))

    def final_from(epochs: int) -> int:
        return epochs - max(1, int(round(epochs * a.final_phase))) if a.final_phase > 0 else epochs

    crop_cost = crop[0] * crop[1] / (in_w * in_h)
    stopped_early = False
    epochs_planned = a.epochs
    epoch = start_epoch
    while epoch < a.epochs:
        final_phase = epoch >= final_from(a.epochs)
        size = (in_w, in_h) if final_phase else crop
        model.train()
        te = time.time()
        sums = {'loss': 0.0, 'box': 0.0, 'cls': 0.0, 'pos': 0}
        n = 0
        for bi, idxs in enumerate(batches(len(cache), a.batch, order_rng)):
            step = epoch * steps_per_epoch + bi
            for g in opt.param_groups:
                g['lr'] = lr_at(step)
            samples = [sampler.sample(i, not final_phase, size) for i in idxs]
            x = to_tensor_batch([s[0] for s in samples]).contiguous(memory_format=torch.channels_last)
            targets = [torch.from_numpy(s[1]) for s in samples]
            dists, logits, points = model.forward_raw(x)
            loss, parts = criterion(dists, logits, points, strides_for(size[1], size[0]), targets)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
            opt.step()
            ema.update(model)
            sums['loss'] += float(loss)
            sums['box'] += parts['box']
            sums['cls'] += parts['cls']
            sums['pos'] += parts['pos']
            n += 1
            if not math.isfinite(float(loss)):
                raise SystemExit(f'loss is {float(loss)} at epoch {epoch + 1} step {bi}: lower --lr')
        train_seconds += time.time() - te
        rec = {'epoch': epoch + 1, 'loss': round(sums['loss'] / n, 4), 'box': round(sums['box'] / n, 4),
               'cls': round(sums['cls'] / n, 4), 'pos_per_img': round(sums['pos'] / (n * a.batch), 1),
               'lr': round(lr_at((epoch + 1) * steps_per_epoch - 1), 6), 'seconds': round(time.time() - te, 1),
               'sample': f'{size[0]}x{size[1]}' + ('' if final_phase else ' +mosaic')}
        if a.max_minutes > 0:
            # Fit the plan to the budget from the latest epoch's speed (the machine is shared, so it varies):
            # fewer epochs, never more, keeping the whole-frame phase at the end (a whole frame costs
            # 1/crop_cost of a window).
            per_crop_epoch = (time.time() - te) * (crop_cost if final_phase else 1.0)

            def projected(e: int) -> float:
                f = final_from(e)
                rest = sum(1.0 if k < f else 1.0 / crop_cost for k in range(epoch + 1, e))
                return train_seconds + per_crop_epoch * rest

            fit = a.epochs
            while fit > epoch + 2 and projected(fit) > a.max_minutes * 60:
                fit -= 1
            if fit < a.epochs:
                log(f'epoch took {time.time() - te:.0f}s: {fit} epochs instead of {a.epochs} fit in '
                    f'--max-minutes {a.max_minutes:g}')
                a.epochs = fit
        last = epoch + 1 == a.epochs or (a.max_minutes > 0 and train_seconds > a.max_minutes * 60)
        if a.eval_every and ((epoch + 1) % a.eval_every == 0) and not last:
            rec['val_map50'] = round(run_eval(ema.ema, val, nc)['map50'], 4)
        history.append(rec)
        log('epoch ' + ' '.join(f'{k}={v}' for k, v in rec.items()))
        torch.save({'model': model.state_dict(), 'ema': ema.ema.state_dict(), 'ema_updates': ema.updates,
                    'opt': opt.state_dict(), 'epoch': epoch + 1, 'history': history, 'train_seconds': train_seconds,
                    'sampler_rng': sampler.rng.getstate(), 'order_rng': order_rng.getstate(),
                    'torch_rng': torch.get_rng_state(), 'imgsz': [in_w, in_h], 'names': names,
                    'epochs': a.epochs},
                   ckpt_path + '.tmp')
        os.replace(ckpt_path + '.tmp', ckpt_path)
        epoch += 1
        if a.max_minutes > 0 and train_seconds > a.max_minutes * 60 and epoch < a.epochs:
            log(f'stopping after {epoch} epochs: training took {train_seconds / 60:.1f} min (--max-minutes)')
            stopped_early = True
            break

    final = ema.ema.eval()
    te = time.time()
    map_before_recal = run_eval(final, val, nc)['map50']
    recalibrate_bn(final, sampler, a.batch, (in_w, in_h), batches_n=40)
    result = run_eval(final, val, nc)
    eval_seconds = time.time() - te
    test_results = {}
    for tpath, tset in tests.items():
        test_results[tpath] = run_eval(final, tset, nc)
        log(f'test {tpath}: mAP50 {test_results[tpath]["map50"]:.4f} ' + ' '.join(
            f'{names[c]}={v["ap50"]:.4f}' for c, v in test_results[tpath]['per_class'].items()))
    for c, v in result['per_class'].items():
        log(f'val AP50 {names[c]}: {v["ap50"]:.4f} ({v["objects"]} objects) at_conf={v["at_conf"]}')
    log(f'val mAP50 {result["map50"]:.4f}')

    onnx_path = os.path.join(a.out, 'city-detector.onnx')
    tmp_onnx = os.path.join(a.workdir, 'city-detector.onnx')
    export_onnx(final, tmp_onnx, names, in_w, in_h, extra_metadata={
        'val_map50': f'{result["map50"]:.4f}'})
    shutil.copyfile(tmp_onnx, onnx_path)
    torch.save({'ema': final.state_dict(), 'imgsz': [in_w, in_h], 'names': names},
               os.path.join(a.workdir, 'final.pt'))
    # Reference outputs for the ONNX check: PyTorch on a few val frames, and its detections.
    k = min(16, len(val.inputs))
    ref_out = np.stack(predict(final, val.inputs[:k]))
    np.savez_compressed(os.path.join(a.workdir, 'onnx-reference.npz'), inputs=np.stack(val.inputs[:k]),
                        outputs=ref_out)

    loss_first, loss_last = history[0], history[-1]
    report = {
        'model': {
            'file': 'city-detector.onnx', 'bytes': os.path.getsize(onnx_path), 'parameters': count_params(final),
            'input': {'name': 'images', 'shape': [1, 3, in_h, in_w], 'layout': 'RGB 0..1, letterbox centred pad 114'},
            'output': {'name': 'output0', 'shape': [1, 4 + nc, int(strides.numel())],
                       'rows': 'cx, cy, w, h (input pixels), then sigmoid score per class'},
            'strides': list(model.strides), 'names': names, 'opset': 17,
        },
        'dataset': {
            'data': shown(a.data),
            'train_images': len(cache), 'val_images': len(val.inputs),
            'train_boxes_per_class': {names[c]: int(sum((ci.boxes[:, 0] == c).sum() for ci in cache))
                                      for c in range(nc)},
            'val_boxes_per_class': dict(zip(names, val.boxes_per_class(nc))),
            'image_size': sorted({f'{ci.orig_size[0]}x{ci.orig_size[1]}' for ci in cache}),
            'split': 'by simulator seed: val seeds are never used in training',
        },
        'training': {
            'epochs': len(history), 'epochs_requested': epochs_planned, 'epochs_fitted_to_budget': a.epochs,
            'stopped_early': stopped_early, 'max_minutes': a.max_minutes,
            'samples': f'{crop[0]}x{crop[1]} windows with mosaic, then the last {a.epochs - final_from(a.epochs)} '
                       f'epochs whole {in_w}x{in_h} frames without mosaic',
            'batch': a.batch, 'optimizer': f'AdamW lr {a.lr} cosine, wd {a.weight_decay}, EMA',
            'seed': a.seed, 'threads': a.threads, 'train_minutes': round(train_seconds / 60, 1),
            'total_minutes_incl_data_and_eval': round((time.time() - t0) / 60, 1),
            'machine': f'{platform.machine()} {os.cpu_count()} cpus, torch {torch.__version__}',
            'loss': {'first_epoch': loss_first['loss'], 'last_epoch': loss_last['loss'],
                     'min': min(h['loss'] for h in history)},
            'history': history,
        },
        'val': {
            'map50': round(result['map50'], 4),
            'ap50_per_class': {names[c]: round(v['ap50'], 4) for c, v in result['per_class'].items()},
            'at_conf': {names[c]: v['at_conf'] for c, v in result['per_class'].items()},
            'nms': 'class-wise, IoU 0.6, conf 0.001, best class per point',
            'metric': 'VOC all-point interpolated AP at IoU 0.5, on original-size boxes after un-letterboxing',
            'pytorch_eval_seconds': round(eval_seconds, 1),
            'map50_before_bn_recalibration': round(map_before_recal, 4),
        },
        'test': {shown(p): {'images': len(tests[p].inputs), 'boxes_per_class': dict(zip(names, tests[p].boxes_per_class(nc))),
                     'map50': round(r['map50'], 4),
                     'ap50_per_class': {names[c]: round(v['ap50'], 4) for c, v in r['per_class'].items()},
                     'at_conf': {names[c]: v['at_conf'] for c, v in r['per_class'].items()}}
                 for p, r in test_results.items()},
    }
    report_path = os.path.join(a.out, 'report.json')
    with open(report_path, 'w') as fh:
        json.dump(report, fh, indent=2)
        fh.write('\n')
    log(f'wrote {onnx_path} ({report["model"]["bytes"]} bytes) and {report_path}')

    if a.ort_python:
        cmd = [a.ort_python, os.path.join(HERE, 'check_onnx.py'), '--model', onnx_path,
               '--reference', os.path.join(a.workdir, 'onnx-reference.npz'), '--report', report_path]
        r = subprocess.run(cmd)
        if r.returncode != 0:
            log(f'ONNX check failed or could not run ({" ".join(cmd)}); see vision/model/README.md')


if __name__ == '__main__':
    main()
