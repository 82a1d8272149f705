// Selecting a detector model is configuration: where the file is, its family (which plugin runs it), input size,
// thresholds and what its classes mean to the rules. Validated here so that a typo stops the process with the field
// named, never a stack trace.
import path from 'node:path';
import { z } from 'zod';
import { IdSchema } from '../../contracts/index.js';
import { ConfigError, parseConfig, readJsonFile } from '../../runtime/config.js';
import { TilingSchema } from './tiling.js';
import { ROLES, type Role } from './types.js';

/** Model families with a plugin (index.ts): YOLO exports, CenterNet and NanoDet (vision/model/coco). */
export const DETECTOR_FAMILIES = ['yolo', 'centernet', 'nanodet'] as const;
export type DetectorFamily = (typeof DETECTOR_FAMILIES)[number];

export const RoleSchema = z.enum(ROLES);

type RoleThresholdShape = Record<Role, z.ZodOptional<z.ZodNumber>>;

/**
 * Class name → role, for our own model's classes and the COCO names a stock model uses. A class that is not listed
 * has no role. Entries in a model's config are merged over these; `null` turns a default off.
 */
export const DEFAULT_ROLES: Readonly<Record<string, Role | null>> = Object.freeze({
  vehicle: 'vehicle',
  stall: 'stall',
  person: 'person',
  car: 'vehicle',
  bus: 'vehicle',
  truck: 'vehicle',
  // A stock model cannot tell a motorcycle from the e-bikes and scooters that fill a city's sidewalks (non-motor
  // vehicles); both are two-wheelers, for zones marked for them (vision/README.md, zone roles).
  motorcycle: 'two-wheeler',
  bicycle: 'two-wheeler',
  umbrella: 'stall',
  chair: 'stall',
  'dining table': 'stall',
  bench: 'stall',
});

export const LetterboxSchema = z.strictObject({
  /** Where the resized image sits in the input: centred (Ultralytics) or at the top-left corner. */
  position: z.enum(['centre', 'top-left']),
  /** Grey level of the padding, 0..255. */
  pad: z.number().int().min(0).max(255),
});
export type Letterbox = z.infer<typeof LetterboxSchema>;

export const ModelConfigSchema = z
  .strictObject({
    name: IdSchema,
    /** The model file; relative paths in a models file are resolved against that file's folder. */
    path: z.string().min(1),
    family: z.enum(DETECTOR_FAMILIES),
    /** Input tensor size; taken from the model (its input shape, else its `imgsz` metadata) when absent. */
    inputWidth: z.number().int().min(16).max(8192).optional(),
    inputHeight: z.number().int().min(16).max(8192).optional(),
    scoreThreshold: z.number().min(0).max(1).default(0.35),
    /**
     * A threshold per role, in place of scoreThreshold for that role's classes: a small scooter or pedestrian of a
     * fixed camera scores lower than a near car, and a false vehicle costs more than a missed person (role-threshold.ts).
     */
    roleScoreThresholds: z
      .strictObject(
        Object.fromEntries(ROLES.map((r) => [r, z.number().min(0).max(1).optional()])) as RoleThresholdShape,
      )
      .optional(),
    /** Boxes of the same class overlapping more than this are one object (class-wise NMS). */
    iouThreshold: z.number().min(0).max(1).default(0.5),
    /**
     * Boxes of the same role overlapping more than this are one object (a COCO "car" and "truck" on one van); the
     * best keeps its class. 1 turns it off.
     */
    roleMergeIou: z.number().gt(0).max(1).default(0.7),
    maxDetections: z.number().int().min(1).max(10_000).default(300),
    /** Class names by class index, for a model without `names` in its metadata. */
    classes: z.array(z.string().min(1)).min(1).optional(),
    roles: z
      .record(z.string().min(1), RoleSchema.nullable())
      .default({})
      .transform((r): Record<string, Role | null> => ({ ...DEFAULT_ROLES, ...r })),
    /** Drop detections whose class has no role before NMS: less work with an 80-class COCO model. */
    dropUnmapped: z.boolean().default(false),
    /** How the model expects the image padded; from the model's `letterbox` metadata, else centred with 114. */
    letterbox: LetterboxSchema.optional(),
    /** onnxruntime intra-op threads: one worker per core pair on this 2-core machine. */
    threads: z.number().int().min(1).max(64).default(2),
    /** Whole frame plus overlapping model-sized tiles, boxes merged (tiling.ts); off when absent. */
    tiling: TilingSchema.optional(),
  })
  .superRefine((c, ctx) => {
    if ((c.inputWidth === undefined) !== (c.inputHeight === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['inputWidth'],
        message: 'give inputWidth and inputHeight together, or neither',
      });
    }
  });
export type ModelConfigInput = z.input<typeof ModelConfigSchema>;
export type ModelConfig = z.output<typeof ModelConfigSchema>;

/** The models file: every detector model a deployment uses, by name (cameras pick one with `model`). */
export const ModelsConfigSchema = z
  .strictObject({
    /** The model of cameras that name none; the first model when absent. */
    default: IdSchema.optional(),
    /**
     * The model the console offers for a camera registered there, a fixed street camera (issue 17: coco-fixed, more
     * input pixels and lower thresholds for the small scooters and people such a camera sees). Absent: the model
     * whose input shape is nearest the camera's aspect ratio.
     */
    fixedCamera: IdSchema.optional(),
    models: z.array(ModelConfigSchema).min(1, 'at least one model is needed'),
  })
  .superRefine((m, ctx) => {
    const seen = new Set<string>();
    m.models.forEach((x, i) => {
      if (seen.has(x.name))
        ctx.addIssue({ code: 'custom', path: ['models', i, 'name'], message: `model name "${x.name}" is used twice` });
      seen.add(x.name);
    });
    for (const key of ['default', 'fixedCamera'] as const) {
      const name = m[key];
      if (name !== undefined && !seen.has(name)) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `no model is named "${name}" (have: ${[...seen].join(', ')})`,
        });
      }
    }
  })
  .transform((m) => ({ ...m, default: m.default ?? m.models[0]!.name }));
export type ModelsConfig = z.output<typeof ModelsConfigSchema>;

/** Validates one model's settings (from code, or a part of a bigger config). */
export function parseModelConfig(input: unknown, source = 'model config'): ModelConfig {
  return parseConfig(ModelConfigSchema, input, source);
}

/** Reads a models file; model paths are made absolute relative to the file's folder. */
export function loadModelsConfig(file: string): ModelsConfig {
  const raw = readJsonFile(file, 'models file');
  const cfg = parseConfig(ModelsConfigSchema, raw, file);
  const dir = path.dirname(path.resolve(file));
  return { ...cfg, models: cfg.models.map((m) => ({ ...m, path: path.resolve(dir, m.path) })) };
}

/** The model a camera uses: its own `model`, else the default. */
export function modelFor(models: ModelsConfig, cameraModel: string | undefined): ModelConfig {
  const name = cameraModel ?? models.default;
  const m = models.models.find((x) => x.name === name);
  if (!m)
    throw new ConfigError(
      `no detector model is named "${name}" (have: ${models.models.map((x) => x.name).join(', ')})`,
    );
  return m;
}
