// The `nanodet` family: NanoDet with the GFL head (before NanoDet-Plus) exported with class scores and box
// distributions per stride (vision/model/coco's nanodet.onnx: COCO, 416x416, converted from TF.js).
import { ConfigError } from '../../runtime/config.js';
import type { Logger } from '../../runtime/log.js';
import type { ModelConfig } from './config.js';
import { openNormalisedDetector, shapeText, type Normalisation } from './centernet-nanodet.js';
import { decodeNanoDet, type NanoDetLevel } from './nanodet-decode.js';
import { classMaskOf, type Outputs } from './onnx-model.js';
import type { Detector } from './types.js';

/** NanoDet's own pipeline: BGR, (pixel - mean) / std. */
const DEFAULT_NORMALISATION: Normalisation = {
  channels: 'bgr',
  mean: [103.53, 116.28, 123.675],
  std: [57.375, 57.12, 58.395],
};
const DEFAULT_STRIDES = [8, 16, 32];

export function createNanoDetDetector(cfg: ModelConfig, logger: Logger): Promise<Detector> {
  return openNormalisedDetector(
    cfg,
    logger,
    DEFAULT_NORMALISATION,
    ({ what, md, classNames, width, height, outputs }) => {
      const strides = md.strides !== undefined ? (md.strides.match(/\d+/g)?.map(Number) ?? []) : DEFAULT_STRIDES;
      if (strides.length === 0 || strides.some((s) => s < 1))
        throw new ConfigError(`${what}: cannot read the model's strides metadata "${md.strides}"`);
      const heads = nanoDetHeads(outputs, strides, width, height, classNames.length, md.reg_max, what, cfg.path);
      const opts = {
        scoreThreshold: cfg.scoreThreshold,
        iouThreshold: cfg.iouThreshold,
        maxDetections: cfg.maxDetections,
        numClasses: classNames.length,
        regMax: heads.regMax,
        classMask: classMaskOf(cfg, classNames),
      };
      const decode = (o: Outputs) =>
        decodeNanoDet(
          heads.levels.map((l): NanoDetLevel => ({
            stride: l.stride,
            width: l.width,
            height: l.height,
            cls: o[l.cls]!.data as Float32Array,
            reg: o[l.reg]!.data as Float32Array,
          })),
          opts,
        );
      return { decode, logged: { strides, regMax: heads.regMax } };
    },
  );
}

interface HeadNames {
  regMax: number;
  levels: { stride: number; width: number; height: number; cls: string; reg: string }[];
}

/**
 * For each stride, the outputs holding its class scores [1, cells, C] and box distributions [1, cells, 4 * (R + 1)]:
 * by name (cls_8, reg_8, ... as convert.py writes them), else by shape. Anything else is not a NanoDet model.
 */
export function nanoDetHeads(
  outputs: Outputs,
  strides: number[],
  width: number,
  height: number,
  numClasses: number,
  regMaxMeta: string | undefined,
  what: string,
  file: string,
): HeadNames {
  const names = Object.keys(outputs);
  const fail = (why: string): never => {
    throw new ConfigError(
      `${what}: ${file} is not a NanoDet model for ${numClasses} classes at ${width}x${height} (${why}): expected per stride s in ${strides.join(', ')} ` +
        `class scores [1, cells, ${numClasses}] and box distributions [1, cells, 4 * (reg_max + 1)]; found ${names.map((n) => `${n} ${shapeText(outputs[n])}`).join(', ')}`,
    );
  };
  const rank3 = (n: string, cells: number) => {
    const t = outputs[n]!;
    return t.type === 'float32' && t.dims.length === 3 && t.dims[0] === 1 && t.dims[1] === cells;
  };
  let regChannels: number | undefined = regMaxMeta !== undefined ? 4 * (Number(regMaxMeta) + 1) : undefined;
  if (regChannels !== undefined && !Number.isInteger(regChannels)) fail(`reg_max metadata "${regMaxMeta}"`);
  const levels = strides.map((stride) => {
    const w = Math.ceil(width / stride);
    const h = Math.ceil(height / stride);
    const cells = w * h;
    const byName = (p: string) =>
      outputs[`${p}_${stride}`] && rank3(`${p}_${stride}`, cells) ? `${p}_${stride}` : undefined;
    const cls = byName('cls') ?? names.find((n) => rank3(n, cells) && outputs[n]!.dims[2] === numClasses);
    const reg =
      byName('reg') ??
      names.find(
        (n) =>
          n !== cls &&
          rank3(n, cells) &&
          (regChannels === undefined ? Number(outputs[n]!.dims[2]) % 4 === 0 : outputs[n]!.dims[2] === regChannels),
      );
    if (cls === undefined || reg === undefined) return fail(`nothing for stride ${stride}`);
    if (outputs[cls]!.dims[2] !== numClasses) fail(`${cls} has ${outputs[cls]!.dims[2]} classes`);
    const rc = Number(outputs[reg]!.dims[2]);
    if (regChannels === undefined) regChannels = rc;
    if (rc !== regChannels || rc % 4 !== 0 || rc < 8) fail(`${reg} has ${rc} box channels`);
    return { stride, width: w, height: h, cls, reg };
  });
  return { regMax: regChannels! / 4 - 1, levels };
}
