// The `centernet` family: CenterNet exports with a class heatmap and a box-distance map (vision/model/coco's
// centernet.onnx: MobileNetV3 CenterNet trained on COCO, converted from TF.js). The input size is free (multiples of
// the model's stride): a camera can run it above the 512x512 it was trained at to see smaller objects.
import type * as ort from 'onnxruntime-node';
import { ConfigError } from '../../runtime/config.js';
import type { Logger } from '../../runtime/log.js';
import type { ModelConfig } from './config.js';
import { decodeCenterNet } from './centernet-decode.js';
import { openNormalisedDetector, shapeText, type Normalisation } from './centernet-nanodet.js';
import { classMaskOf, type Outputs } from './onnx-model.js';
import type { Detector } from './types.js';

/** The upstream model's own input: RGB pixels 0..255, letterboxed centred on black. */
const DEFAULT_NORMALISATION: Normalisation = { channels: 'rgb', mean: [0, 0, 0], std: [1, 1, 1] };

export function createCenterNetDetector(cfg: ModelConfig, logger: Logger): Promise<Detector> {
  return openNormalisedDetector(cfg, logger, DEFAULT_NORMALISATION, ({ what, classNames, width, height, outputs }) => {
    const maps = centerNetMaps(outputs, classNames.length, what, cfg.path);
    const strideX = width / maps.width;
    const strideY = height / maps.height;
    if (!Number.isInteger(strideX) || strideX !== strideY) {
      throw new ConfigError(
        `${what}: maps of ${maps.width}x${maps.height} for an input of ${width}x${height} have no whole, equal stride; use an input size that is a multiple of 32`,
      );
    }
    const opts = {
      scoreThreshold: cfg.scoreThreshold,
      iouThreshold: cfg.iouThreshold,
      maxDetections: cfg.maxDetections,
      outputStride: strideX,
      classMask: classMaskOf(cfg, classNames),
    };
    const decode = (o: Outputs) =>
      decodeCenterNet(
        {
          heatmap: o[maps.heatmap]!.data as Float32Array,
          boxes: o[maps.boxes]!.data as Float32Array,
          numClasses: classNames.length,
          width: maps.width,
          height: maps.height,
        },
        opts,
      );
    return { decode, logged: { maps: `${maps.width}x${maps.height}` } };
  });
}

interface MapNames {
  heatmap: string;
  boxes: string;
  width: number;
  height: number;
}

/**
 * Which outputs are the heatmap [1, C, h, w] and the box map [1, 4, h, w]: by name ("heatmap", "boxes", as
 * convert.py writes them), else by shape. Anything else is not a CenterNet model.
 */
export function centerNetMaps(outputs: Outputs, numClasses: number, what: string, file: string): MapNames {
  const is = (t: ort.Tensor | undefined, channels: number) =>
    t !== undefined && t.type === 'float32' && t.dims.length === 4 && t.dims[0] === 1 && t.dims[1] === channels;
  const names = Object.keys(outputs);
  const heatmap = is(outputs.heatmap, numClasses) ? 'heatmap' : names.find((n) => is(outputs[n], numClasses));
  const boxes = is(outputs.boxes, 4) ? 'boxes' : names.find((n) => n !== heatmap && is(outputs[n], 4));
  const h = heatmap !== undefined ? outputs[heatmap]! : undefined;
  const b = boxes !== undefined ? outputs[boxes]! : undefined;
  if (!h || !b || h.dims[2] !== b.dims[2] || h.dims[3] !== b.dims[3]) {
    throw new ConfigError(
      `${what}: ${file} is not a CenterNet model for ${numClasses} classes: expected a float32 heatmap [1, ${numClasses}, H/4, W/4] and ` +
        `box map [1, 4, H/4, W/4]; found ${names.map((n) => `${n} ${shapeText(outputs[n])}`).join(', ')}`,
    );
  }
  return { heatmap: heatmap!, boxes: boxes!, width: Number(h.dims[3]), height: Number(h.dims[2]) };
}
