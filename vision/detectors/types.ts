// The one small interface every object detector implements, whatever its runtime or model family (Frigate-style):
// a plugin per family turns a model file into a Detector; the vision worker only ever sees this.
import type { Box } from '../../contracts/index.js';

export const ROLES = ['vehicle', 'two-wheeler', 'stall', 'person'] as const;
/** What an object means to the enforcement rules: a vehicle may park illegally, a stall may trade out of store. */
export type Role = (typeof ROLES)[number];

/** An image as interleaved 8-bit RGB, row-major, no row padding: what sharp's `.raw()` gives for a 3-channel image. */
export interface RawImage {
  data: Buffer;
  width: number;
  height: number;
  channels: 3;
}

export interface Detection {
  /** In the pixels of the image given to detect() (the letterbox is undone), clipped to it. */
  box: Box;
  /** 0..1 */
  score: number;
  classId: number;
  className: string;
  /** null: a class the rules do not use (a bicycle, a dog), or one the role map turns off. */
  role: Role | null;
}

export interface DetectorInfo {
  /** The model's name in the models config. */
  name: string;
  family: string;
  path: string;
  /** SHA-256 of the model file, hex: recorded with every event so a reviewer knows which model saw it. */
  sha256: string;
  inputWidth: number;
  inputHeight: number;
  classNames: string[];
  /** The model file's own metadata (ONNX metadata_props), as written by the exporter. */
  metadata: Record<string, string>;
}

export interface DetectTimings {
  /** Letterbox resize and conversion to the input tensor. */
  preprocessMs: number;
  inferenceMs: number;
  /** Decoding the output, thresholds, NMS, boxes back to image pixels. */
  postprocessMs: number;
}

export interface DetectResult {
  /** Best score first. */
  detections: Detection[];
  timings: DetectTimings;
}

export interface Detector {
  readonly info: DetectorInfo;
  /** Calls may overlap; a detector runs them one at a time (it reuses its input buffers). */
  detect(img: RawImage): Promise<DetectResult>;
  /** Releases the runtime session; detect() afterwards is refused. */
  close(): Promise<void>;
}
