"""Check the exported model with onnxruntime: same outputs and detections as PyTorch, metadata, and speed.

Runs under a Python that has onnxruntime and numpy (not Debian's, which has torch but no onnxruntime):

    python3 -m pip install onnxruntime
    python3 vision/model/check_onnx.py --model vision/model/city-detector.onnx \
        --reference ~/.cache/city-sensing/vision/run/onnx-reference.npz --report vision/model/report.json

The reference file (inputs and PyTorch outputs on held-out frames) is written by train.py. Results are merged
into the report under "onnx". Exit status 1 if the outputs or detections differ.
"""
from __future__ import annotations

import argparse
import ast
import json
import os
import sys
import time

import numpy as np

sys.dont_write_bytecode = True  # no __pycache__ in the repository
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from evaluate import decode  # noqa: E402

REQUIRED_METADATA = ('names', 'imgsz', 'stride', 'task', 'description', 'author', 'version', 'license',
                     'letterbox', 'normalize', 'source')


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--model', required=True)
    ap.add_argument('--reference', help='npz from train.py with inputs (uint8 NHWC) and PyTorch outputs')
    ap.add_argument('--report', help='report.json to merge the results into')
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--runs', type=int, default=50)
    a = ap.parse_args()
    try:
        import onnxruntime as ort
    except ImportError:
        print(f'{sys.executable} has no onnxruntime: python3 -m pip install onnxruntime', file=sys.stderr)
        return 2

    so = ort.SessionOptions()
    so.intra_op_num_threads = a.threads
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(a.model, so, providers=['CPUExecutionProvider'])
    inp, outs = sess.get_inputs(), sess.get_outputs()
    meta = sess.get_modelmeta().custom_metadata_map
    problems = []
    if len(inp) != 1 or inp[0].name != 'images' or len(outs) != 1:
        problems.append(f'expected one input "images" and one output, got {[i.name for i in inp]} -> '
                        f'{[o.name for o in outs]}')
    missing = [k for k in REQUIRED_METADATA if k not in meta]
    if missing:
        problems.append(f'metadata lacks {missing}')
    names = ast.literal_eval(meta.get('names', '{}'))
    imgsz = ast.literal_eval(meta.get('imgsz', '[0, 0]'))
    shape = inp[0].shape
    if list(shape[2:]) != list(imgsz):
        problems.append(f'input shape {shape} does not match imgsz {imgsz}')
    result = {'onnxruntime': ort.__version__, 'threads': a.threads, 'metadata': dict(meta),
              'input_shape': shape, 'output_shape': outs[0].shape}
    if len(outs) == 1 and outs[0].shape[1] != 4 + len(names):
        problems.append(f'output rows {outs[0].shape[1]} != 4 + {len(names)} classes')

    if a.reference:
        ref = np.load(a.reference)
        x_all = ref['inputs'].astype(np.float32).transpose(0, 3, 1, 2) / 255.0
        max_box, max_score, det_mismatch = 0.0, 0.0, 0
        for x, y_ref in zip(x_all, ref['outputs']):
            y = sess.run(None, {'images': x[None]})[0][0]
            max_box = max(max_box, float(np.abs(y[:4] - y_ref[:4]).max()))
            max_score = max(max_score, float(np.abs(y[4:] - y_ref[4:]).max()))
            d_onnx, d_ref = decode(y, conf=0.25), decode(y_ref, conf=0.25)
            if len(d_onnx) != len(d_ref) or (len(d_ref) and (
                    np.abs(d_onnx[:, :4] - d_ref[:, :4]).max() > 0.5 or (d_onnx[:, 5] != d_ref[:, 5]).any())):
                det_mismatch += 1
        result['vs_pytorch'] = {'frames': int(len(x_all)), 'max_abs_diff_box_px': round(max_box, 5),
                                'max_abs_diff_score': round(max_score, 6),
                                'frames_with_different_detections_at_conf_0.25': det_mismatch}
        if max_box > 0.05 or max_score > 1e-3 or det_mismatch:
            problems.append(f'ONNX differs from PyTorch: {result["vs_pytorch"]}')
        x = x_all[:1]
    else:
        x = np.random.default_rng(0).random((1, 3, *imgsz), dtype=np.float32)

    for _ in range(5):
        sess.run(None, {'images': x})
    times = []
    for _ in range(a.runs):
        t = time.perf_counter()
        y = sess.run(None, {'images': x})[0][0]
        times.append((time.perf_counter() - t) * 1000)
    td = []
    for _ in range(a.runs):
        t = time.perf_counter()
        decode(y, conf=0.25, iou_thr=0.6)
        td.append((time.perf_counter() - t) * 1000)
    result['speed'] = {'inference_ms_median': round(float(np.median(times)), 2),
                       'inference_ms_p90': round(float(np.percentile(times, 90)), 2),
                       'numpy_decode_nms_ms_median': round(float(np.median(td)), 2), 'runs': a.runs,
                       'note': 'onnxruntime CPU, batch 1, this machine (2 cores shared with other work)'}
    result['problems'] = problems
    print(json.dumps({k: v for k, v in result.items() if k != 'metadata'}, indent=2))
    if a.report:
        with open(a.report) as fh:
            report = json.load(fh)
        report['onnx'] = result
        with open(a.report, 'w') as fh:
            json.dump(report, fh, indent=2)
            fh.write('\n')
    if problems:
        for p in problems:
            print('PROBLEM:', p, file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
