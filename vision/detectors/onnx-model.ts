// Opening an ONNX model file for any plugin (and the plate reader): the bytes are read once, hashed for the
// evidence record, their metadata read, and handed to onnxruntime. Every way a file can be wrong becomes a
// ConfigError that names the file and says what to do.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import * as ort from 'onnxruntime-node';
import { ConfigError } from '../../runtime/config.js';
import { OnnxFormatError, readOnnxMeta, type OnnxModelMeta } from './onnx-meta.js';

export interface OnnxModelFile {
  path: string;
  bytes: Buffer;
  sha256: string;
  meta: OnnxModelMeta;
}

/**
 * Reads and checks a model file. `what` names it in messages ("detector model \"city\"", "plate recogniser");
 * `hint` says how to get the file.
 */
export function readOnnxModelFile(file: string, what: string, hint = 'correct "path" in the models config'): OnnxModelFile {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why =
      err.code === 'ENOENT'
        ? 'does not exist'
        : err.code === 'EISDIR'
          ? 'is a folder, not a model file'
          : err.code === 'EACCES'
            ? 'cannot be read (permission denied)'
            : `cannot be read (${err.message})`;
    throw new ConfigError(`${what}: ${file} ${why}; put the .onnx file there or ${hint}`);
  }
  if (bytes.length === 0) throw new ConfigError(`${what}: ${file} is empty; copy the .onnx file again`);
  if (bytes.subarray(0, 40).toString('latin1').startsWith('version https://git-lfs')) {
    throw new ConfigError(`${what}: ${file} is a Git LFS pointer, not the model; run "git lfs pull"`);
  }
  let meta: OnnxModelMeta;
  try {
    meta = readOnnxMeta(bytes);
  } catch (e) {
    if (!(e instanceof OnnxFormatError)) throw e;
    throw new ConfigError(`${what}: ${file} is not an ONNX model (${e.message}); export the model to ONNX, e.g. "yolo export format=onnx"`);
  }
  return { path: file, bytes, sha256: createHash('sha256').update(bytes).digest('hex'), meta };
}

/** An onnxruntime CPU session for a model file; onnxruntime's own refusal becomes a ConfigError. */
export async function openOnnxSession(model: OnnxModelFile, what: string, threads: number): Promise<ort.InferenceSession> {
  try {
    return await ort.InferenceSession.create(model.bytes, {
      executionProviders: ['cpu'],
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      // One frame at a time per worker: parallelism inside operators, none between them.
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
    });
  } catch (e) {
    throw new ConfigError(`${what}: onnxruntime cannot load ${model.path}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** The input or output's shape as the model declares it; symbolic dimensions are null. */
export function declaredShape(m: ort.InferenceSession.ValueMetadata | undefined): (number | null)[] | null {
  if (!m || !m.isTensor) return null;
  return m.shape.map((d) => (typeof d === 'number' && d > 0 ? d : null));
}
