// The `yolo` family: Ultralytics exports (YOLOv8 and later, `yolo export format=onnx`), YOLOv5 exports and our own
// city detector (vision/model), all on onnxruntime-node. Class names, input size and letterbox come from the
// model's metadata unless the config says otherwise.
import * as ort from 'onnxruntime-node';
import { ConfigError } from '../../runtime/config.js';
import type { Logger } from '../../runtime/log.js';
import type { Letterbox, ModelConfig } from './config.js';
import { LetterboxInput } from './letterbox.js';
import {
  OnnxDetector,
  classMaskOf,
  classNamesOf,
  imageInputOf,
  letterboxOf,
  loadedDetectorInfo,
  openOnnxSession,
  readOnnxModelFile,
  type Outputs,
} from './onnx-model.js';
import type { Detector } from './types.js';
import { YoloDecoder, yoloLayout } from './yolo-decode.js';

const DEFAULT_LETTERBOX: Letterbox = { position: 'centre', pad: 114 };

export async function createYoloDetector(cfg: ModelConfig, logger: Logger): Promise<Detector> {
  const what = `detector model "${cfg.name}"`;
  const file = readOnnxModelFile(cfg.path, what);
  const md = file.meta.metadata;
  const classNames = classNamesOf(cfg, file, what, logger);
  const letterbox = letterboxOf(cfg, md, what, DEFAULT_LETTERBOX);
  if (md.normalize !== undefined && md.normalize.replace(/\s/g, '') !== '0..1') {
    throw new ConfigError(
      `${what}: the model expects input normalised as "${md.normalize}"; the yolo family feeds RGB 0..1`,
    );
  }

  const session = await openOnnxSession(file, what, cfg.threads);
  try {
    const { inputName, width, height } = imageInputOf(cfg, session, md, what, {
      float32: 'export a float32 model (e.g. without half=True)',
    });
    const outputName = session.outputNames[0];
    if (outputName === undefined) throw new ConfigError(`${what}: the model has no output`);
    const input = new LetterboxInput(width, height, letterbox);
    const tensor = new ort.Tensor('float32', input.data, [1, 3, height, width]);

    // One run on a grey frame tells the real output shape (often symbolic in the file) and warms the session up.
    input.data.fill(letterbox.pad / 255);
    const out = (await session.run({ [inputName]: tensor }))[outputName];
    const dims = out && 'dims' in out ? [...out.dims] : [];
    const layout = yoloLayout(dims, classNames.length);
    if (!layout) {
      const c = classNames.length;
      throw new ConfigError(
        `${what}: output "${outputName}" has shape [${dims.join(', ')}], not a YOLO layout for ${c} classes: ` +
          `expected [1, ${4 + c}, anchors] (Ultralytics) or [1, anchors, ${4 + c}] (or ${5 + c} with YOLOv5's objectness). ` +
          `Check the class names (${c}: ${classNames.slice(0, 5).join(', ')}${c > 5 ? ', …' : ''}), and export without NMS inside the model`,
      );
    }
    if (out?.type !== 'float32')
      throw new ConfigError(`${what}: output "${outputName}" is ${out?.type}, expected float32`);

    const info = loadedDetectorInfo(cfg, file, { width, height }, classNames, logger, {
      anchors: layout.anchors,
      layout: `${layout.objectness ? 'yolov5' : 'yolov8'}${layout.channelsFirst ? '' : ' transposed'}`,
    });
    const decoder = new YoloDecoder({
      scoreThreshold: cfg.scoreThreshold,
      iouThreshold: cfg.iouThreshold,
      maxDetections: cfg.maxDetections,
      classMask: classMaskOf(cfg, classNames),
    });
    const decode = (outputs: Outputs) => decoder.decode(outputs[outputName]!.data as Float32Array, layout);
    return new OnnxDetector(info, cfg, session, inputName, input, tensor, decode);
  } catch (e) {
    await session.release().catch(() => undefined);
    throw e;
  }
}
