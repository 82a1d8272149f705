#!/usr/bin/python3
"""Writes the tiny ONNX models the detector tests load (run: /usr/bin/python3 vision/detectors/testdata/make_models.py).

Each model's output is a constant tensor in a YOLO layout, made to depend on the input through 0 * ReduceMean(images)
so that onnxruntime has to read the input. The constants (ANCHORS below) are chosen so that the tests
(../yolo.test.ts) know the exact answer.
Needs only python3-onnx and numpy (Debian's packages); no network.
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
OPSET = 13

# Anchors in letterboxed input pixels (cx, cy, w, h) with one class score each, for a 96x64 (W x H) input.
# Classes: 0 vehicle, 1 stall, 2 person.
ANCHORS = [
    # cx, cy, w, h, class, score
    (48, 32, 40, 20, 0, 0.90),  # A: the best vehicle
    (49, 33, 40, 20, 0, 0.80),  # B: same object, same class, lower score -> suppressed by NMS
    (48, 32, 40, 20, 1, 0.70),  # C: same place, another class -> survives class-wise NMS
    (20, 40, 10, 16, 2, 0.60),  # D: a person elsewhere
    (80, 20, 12, 12, 1, 0.20),  # E: below the 0.35 threshold -> dropped
    (70, 50, 8, 8, 0, 0.36),    # F: just above the threshold
]
N = 9  # three anchors stay empty (all scores 0); 9 differs from 4 + 3 and 5 + 3, so layouts are unambiguous


def channels_first(num_classes, objectness=False):
    """[1, 4 (+1) + C, N]: rows are cx, cy, w, h, (objectness), class scores; columns are anchors."""
    rows = 4 + (1 if objectness else 0) + num_classes
    out = np.zeros((1, rows, N), dtype=np.float32)
    for i, (cx, cy, w, h, c, s) in enumerate(ANCHORS):
        out[0, 0:4, i] = (cx, cy, w, h)
        if objectness:
            # objectness 1.0 for all but F, whose score comes from obj * cls = 0.9 * 0.4 = 0.36
            obj, cls = (0.9, 0.4) if i == 5 else (1.0, s)
            out[0, 4, i] = obj
            out[0, 5 + c, i] = cls
        else:
            out[0, 4 + c, i] = s
    return out


def model(path, out, metadata, input_shape=(1, 3, 64, 96), output_name='output0'):
    const = numpy_helper.from_array(out, 'yolo_const')
    nodes = [
        helper.make_node('ReduceMean', ['images'], ['mean'], keepdims=0),
        helper.make_node('Constant', [], ['zero'], value=numpy_helper.from_array(np.array(0, dtype=np.float32))),
        helper.make_node('Mul', ['mean', 'zero'], ['nothing']),
        helper.make_node('Add', ['yolo_const', 'nothing'], [output_name]),
    ]
    graph = helper.make_graph(
        nodes,
        'yolo-test',
        [helper.make_tensor_value_info('images', TensorProto.FLOAT, list(input_shape))],
        [helper.make_tensor_value_info(output_name, TensorProto.FLOAT, list(out.shape))],
        initializer=[const],
    )
    m = helper.make_model(graph, producer_name='city-sensing-tests', opset_imports=[helper.make_opsetid('', OPSET)])
    m.ir_version = 8
    for k, v in metadata.items():
        p = m.metadata_props.add()
        p.key = k
        p.value = v
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(HERE, path))


def main():
    ultralytics_meta = {
        'description': 'test model: a constant YOLO output',
        'author': 'city-sensing',
        'task': 'detect',
        'stride': '32',
        'imgsz': '[64, 96]',
        'names': "{0: 'vehicle', 1: 'stall', 2: 'person'}",
        'letterbox': 'center,114',
    }
    # [1, 7, 8], the Ultralytics YOLOv8 layout.
    model('yolo-v8.onnx', channels_first(3), ultralytics_meta)
    # [1, 8, 7]: the transposed layout, names as a Python list.
    model('yolo-transposed.onnx', np.ascontiguousarray(channels_first(3).transpose(0, 2, 1)),
          {**ultralytics_meta, 'names': "['vehicle', 'stall', 'person']"})
    # [1, 8, 8]: YOLOv5 layout (objectness row), transposed as YOLOv5 exports it.
    model('yolo-v5.onnx', np.ascontiguousarray(channels_first(3, objectness=True).transpose(0, 2, 1)),
          {'stride': '32', 'names': "{0: 'vehicle', 1: 'stall', 2: 'person'}"})
    # No names in the metadata: the config must list the classes.
    model('yolo-no-names.onnx', channels_first(3), {})
    # Dynamic input size (height, width symbolic), 80 COCO classes whose names have spaces; size from imgsz.
    coco = channels_first(80)
    coco[0, 4:, :] = 0
    # anchor 0 -> class 2 'car', anchor 2 -> class 60 'dining table', anchor 3 -> class 0 'person',
    # anchor 5 -> class 1 'bicycle' (no role)
    for i, c in ((0, 2), (2, 60), (3, 0), (5, 1)):
        coco[0, 4 + c, i] = ANCHORS[i][5]
    model('yolo-coco-dynamic.onnx', coco, {
        'names': repr(dict(enumerate(COCO))),
        'imgsz': '[64, 96]',
        'stride': '32',
    }, input_shape=(1, 3, 'height', 'width'))
    # Not a detector: output [1, 10].
    model('not-yolo.onnx', np.zeros((1, 10), dtype=np.float32), {'names': "{0: 'a'}"})


COCO = ['person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train', 'truck', 'boat', 'traffic light',
        'fire hydrant', 'stop sign', 'parking meter', 'bench', 'bird', 'cat', 'dog', 'horse', 'sheep', 'cow',
        'elephant', 'bear', 'zebra', 'giraffe', 'backpack', 'umbrella', 'handbag', 'tie', 'suitcase', 'frisbee',
        'skis', 'snowboard', 'sports ball', 'kite', 'baseball bat', 'baseball glove', 'skateboard', 'surfboard',
        'tennis racket', 'bottle', 'wine glass', 'cup', 'fork', 'knife', 'spoon', 'bowl', 'banana', 'apple',
        'sandwich', 'orange', 'broccoli', 'carrot', 'hot dog', 'pizza', 'donut', 'cake', 'chair', 'couch',
        'potted plant', 'bed', 'dining table', 'toilet', 'tv', 'laptop', 'mouse', 'remote', 'keyboard', 'cell phone',
        'microwave', 'oven', 'toaster', 'sink', 'refrigerator', 'book', 'clock', 'vase', 'scissors', 'teddy bear',
        'hair drier', 'toothbrush']

if __name__ == '__main__':
    main()
