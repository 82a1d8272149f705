"""ONNX export in the layout and with the metadata of an Ultralytics YOLOv8 detect export.

Input "images" float32 [1, 3, H, W] RGB 0..1, letterboxed (centred, pad 114); output "output0" [1, 4 + C, N]:
cx, cy, w, h in input pixels, then sigmoid class scores. No NMS in the graph. metadata_props carry the class
names, input size and preprocessing, so the TypeScript runtime reads this model and a YOLO export the same way.
"""
from __future__ import annotations

import copy
import datetime
from typing import Dict, Sequence

import onnx
import torch

from detector import CityDetector

MODEL_VERSION = '1.0.0'
LICENSE = 'same licence as the city-sensing repository'


def metadata(names: Sequence[str], in_w: int, in_h: int, extra: Dict[str, str] | None = None) -> Dict[str, str]:
    md = {
        'description': 'city-sensing street detector (vehicle, stall, person), tiny anchor-free YOLOv8-style',
        'author': 'city-sensing project',
        'date': datetime.date.today().isoformat(),
        'version': MODEL_VERSION,
        'license': LICENSE,
        'stride': '32',
        'task': 'detect',
        'batch': '1',
        'imgsz': f'[{in_h}, {in_w}]',
        'names': '{' + ', '.join(f"{i}: '{n}'" for i, n in enumerate(names)) + '}',
        'letterbox': 'center,114',
        'normalize': '0..1',
        'source': 'trained on city-sensing simulator, see vision/model/README.md',
    }
    md.update(extra or {})
    return md


def export_onnx(model: CityDetector, path: str, names: Sequence[str], in_w: int, in_h: int, opset: int = 17,
                extra_metadata: Dict[str, str] | None = None) -> None:
    m = copy.deepcopy(model).eval().float()
    dummy = torch.zeros(1, 3, in_h, in_w)
    with torch.no_grad():
        torch.onnx.export(m, dummy, path, opset_version=opset, input_names=['images'], output_names=['output0'],
                          do_constant_folding=True)
    proto = onnx.load(path)
    del proto.metadata_props[:]
    for k, v in metadata(names, in_w, in_h, extra_metadata).items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = k, v
    proto.producer_name = 'city-sensing vision/model/train.py'
    onnx.checker.check_model(proto)
    onnx.save(proto, path)
