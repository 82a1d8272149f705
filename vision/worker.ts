// The vision worker: camera frames in, enforcement events with evidence out. Per camera it keeps a tracker and the
// zone rules (frames of one camera reach one worker: the bus is keyed by camera id), runs the camera's detector where
// its motion gate says (the whole frame, the changed areas, or not at all), and when a rule says an event is due, composes the evidence images, stores them by their SHA-256,
// reads the plate, and publishes the event to the review queue. A frame it cannot use (corrupt JPEG, wrong size,
// unknown camera) is dead-lettered with the reason; the other cameras carry on.
import { Counter, Histogram, type Registry } from 'prom-client';
import { jsonDecoder, subscribeDecoded } from '../bus/decoded.js';
import type { Bus, Subscription } from '../bus/types.js';
import {
  decodeBusFrame,
  EnforcementEventSchema,
  framesTopic,
  type Box,
  type EnforcementEvent,
  type EvidenceImage,
  type Frame,
  type RecheckRequestInput,
  type RecheckResult,
} from '../contracts/index.js';
import { readImageHeader, type ImageHeader } from '../runtime/image.js';
import type { Logger } from '../runtime/log.js';
import type { DeadLetterStore } from '../store/types.js';
import os from 'node:os';
import { z } from 'zod';
import { CameraSchema, type Camera, type CameraRegistry } from './cameras/config.js';
import { bottomCentre, pointInPolygon } from './rules/geometry.js';
import {
  createDetector,
  decodeImage,
  modelFor,
  type DetectResult,
  type Detection,
  type Detector,
  type ModelConfig,
  type ModelsConfig,
  type RawImage,
} from './detectors/index.js';
import { cropEvidence, drawEvidence, localTime } from './evidence/compose.js';
import { MotionGate, type GateKind, type GatePlan } from './motion/gate.js';
import { heldDetections } from './motion/held.js';
import type { GreyImage } from './motion/grey.js';
import { STATIONARY_CLASS, STATIONARY_DETECTOR, StationaryStage, stationaryEnabled } from './stationary/stage.js';
import { detectOnAreas, type AreaDetector } from './motion/detect-areas.js';
import { EvidenceStore } from './evidence/store.js';
import { RecheckResponder, type RecheckOptionsInput } from './recheck.js';
import { DuplicateLinks, type DuplicateLinkOptionsInput } from './rules/duplicates.js';
import {
  ZoneRules,
  type RuleEvent,
  type RuleOutput,
  type Sighting,
  type ZoneRulesOptionsInput,
} from './rules/zone-rules.js';
import { Tracker, type TrackerOptionsInput } from './track/index.js';

/** Reads a licence plate inside a vehicle's box (vision/ocr); optional. */
export interface PlateReading {
  read(img: RawImage, vehicleBox?: Box): Promise<{ text: string; confidence: number } | null>;
}

/** What the rules keep of a frame: the JPEG as received (evidence is drawn on it) and its size. */
interface FrameRef {
  jpeg: Buffer;
  width: number;
  height: number;
  ts: number;
}

export interface FrameTimings {
  /** The motion gate: the small grey decode, the background, the changed areas (0 when gating is off). */
  motionMs: number;
  /**
   * The stationary stage: its two backgrounds and standing areas, and its own grey decode when the gate is off; 0 when
   * off. A breakdown: the decode is counted in decodeMs too, the rest in trackingMs, so the stages still add up.
   */
  stationaryMs: number;
  decodeMs: number;
  preprocessMs: number;
  inferenceMs: number;
  postprocessMs: number;
  /** Tracker and zone rules. */
  trackingMs: number;
  /** Evidence composition, plate reading and publishing, on the frames that raise events. */
  eventsMs: number;
}

export type FrameResult =
  | {
      ok: true;
      camera: string;
      /** What the tracker was given: detections, and on a gated frame the standing objects held where they were. */
      detections: Detection[];
      tracks: number;
      events: EnforcementEvent[];
      timings: FrameTimings;
      /** Where the detector ran: the whole frame, the changed areas, or nowhere (gated off). */
      detector: GateKind;
    }
  | { ok: false; camera: string; reason: string };

export interface VisionWorkerOptions {
  cameras: CameraRegistry;
  models: ModelsConfig;
  evidence: EvidenceStore;
  bus: Bus;
  deadLetters: DeadLetterStore;
  logger: Logger;
  registry?: Registry;
  plates?: PlateReading | null;
  tracker?: TrackerOptionsInput;
  rules?: ZoneRulesOptionsInput;
  /** When an event is linked to an earlier one as a possible duplicate (rules/duplicates.ts). */
  duplicates?: DuplicateLinkOptionsInput;
  /** How the API serves an evidence image; default /api/evidence/{sha256}. */
  evidenceUrl?: (sha256: string) => string;
  /** Publish events (and re-check results) on the bus (default); off for an evaluation that only wants the results. */
  publish?: boolean;
  /**
   * Answer re-check requests (bus topic "rechecks", after a notice) for the cameras this worker holds: on by default;
   * false turns it off, an object sets its options (vision/recheck.ts).
   */
  rechecks?: boolean | RecheckOptionsInput;
  /** Consumer group of the re-check requests; default one of this process's own (every worker sees every request). */
  recheckGroup?: string;
  /**
   * Follow the cameras registered in the console (bus topic "cameras", cameras/service.ts) and apply every change
   * live: on by default; false for an evaluation or a benchmark.
   */
  liveCameras?: boolean;
}

/** What the console's camera service publishes on bus topic "cameras": every camera it holds, each time. */
export const LiveCamerasSchema = z.strictObject({ cameras: z.array(CameraSchema) });

interface CameraState {
  camera: Camera;
  detector: Detector;
  /** The motion gate, when the camera's `motion.enabled`. */
  gate: MotionGate | null;
  /** Detection on changed areas: sessions of the camera's model at the gate's small inputs, smallest first; [] when none. */
  regions: AreaDetector[];
  /** New standing objects on storefront sidewalks, whatever they are (vision/stationary); null when off. */
  stationary: StationaryStage | null;
  tracker: Tracker;
  rules: ZoneRules<FrameRef>;
  lastTs: number;
  /** Wall-clock time of the last frame processed: a worker answers re-checks only for cameras it holds now. */
  lastFrameAt: number;
  frames: number;
  /** Events raised while their object was still there, by rule key, until the object leaves. */
  open: Map<string, EnforcementEvent>;
  /** Recent events, to link a new one to an earlier one of the same vehicle and stay. */
  links: DuplicateLinks;
}

function zoneMarks(zone: RuleEvent<unknown>['zone']): {
  polygons: [number, number][][];
  polylines: [number, number][][];
} {
  return zone.type === 'no-parking'
    ? { polygons: [zone.polygon], polylines: [] }
    : { polygons: [zone.sidewalk], polylines: [zone.storeLine] };
}

const now = () => performance.now();

export class VisionWorker {
  private readonly cameras = new Map<string, CameraState>();
  private readonly detectors: Detector[] = [];
  private sub: Subscription | null = null;
  private readonly m;
  /** Dead letters for one camera are logged once a minute at most: a broken camera sends one per frame. */
  private readonly dlLogged = new Map<string, number>();
  private readonly rechecks: RecheckResponder | null;
  private readonly byModel = new Map<string, Detector>();
  /** Models that refused another input size: asked once. */
  private readonly noRegions = new Set<string>();
  /** The registry file's cameras: a console camera of the same id is ignored (the file wins). */
  private readonly fileIds = new Set<string>();
  private liveSub: Subscription | null = null;
  private liveApplied = '';
  private liveChain: Promise<void> = Promise.resolve();

  private constructor(private readonly o: VisionWorkerOptions) {
    const registers = o.registry ? [o.registry] : [];
    this.rechecks =
      o.rechecks === false
        ? null
        : new RecheckResponder({
            bus: o.bus,
            evidence: o.evidence,
            deadLetters: o.deadLetters,
            logger: o.logger,
            timeZone: o.cameras.timeZone,
            held: (id) => this.cameras.get(id),
            evidenceUrl: (sha) => this.url(sha),
            publish: o.publish,
            options: o.rechecks === true || o.rechecks === undefined ? {} : o.rechecks,
          });
    this.m = {
      frames: new Counter({
        name: 'vision_frames_total',
        help: 'Frames processed',
        labelNames: ['camera'] as const,
        registers,
      }),
      detector: new Counter({
        name: 'vision_detector_runs_total',
        help: 'Frames by where the detector ran: full, regions, skipped (motion gate)',
        labelNames: ['kind'] as const,
        registers,
      }),
      rejected: new Counter({ name: 'vision_frames_rejected_total', help: 'Frames dead-lettered', registers }),
      events: new Counter({
        name: 'vision_events_total',
        help: 'Enforcement events raised',
        labelNames: ['type'] as const,
        registers,
      }),
      latency: new Histogram({
        name: 'vision_frame_seconds',
        help: 'Per-frame processing time by stage',
        labelNames: ['stage'] as const,
        buckets: [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1],
        registers,
      }),
    };
  }

  /** Opens every model the cameras use (a missing model file stops here, with its path) and sets up each camera. */
  static async open(o: VisionWorkerOptions): Promise<VisionWorker> {
    const w = new VisionWorker(o);
    try {
      for (const camera of o.cameras.cameras) {
        w.cameras.set(camera.id, await w.cameraState(camera));
        w.fileIds.add(camera.id);
      }
    } catch (e) {
      await w.close();
      throw e;
    }
    o.logger.info(
      { cameras: w.cameras.size, zones: o.cameras.cameras.reduce((n, c) => n + c.zones.length, 0) },
      'vision worker ready',
    );
    return w;
  }

  /** A camera's detector (each model opened once), tracker and zone rules. */
  private async cameraState(camera: Camera): Promise<CameraState> {
    const model = modelFor(this.o.models, camera.model);
    let detector = this.byModel.get(model.name);
    if (!detector) {
      detector = await createDetector(model, this.o.logger);
      this.byModel.set(model.name, detector);
      this.detectors.push(detector);
      this.o.logger.info(
        {
          model: model.name,
          family: model.family,
          classes: detector.info.classNames.length,
          input: `${detector.info.inputWidth}x${detector.info.inputHeight}`,
        },
        'detector model loaded',
      );
    }
    return {
      camera,
      detector,
      gate: camera.motion.enabled ? new MotionGate(camera, camera.motion) : null,
      regions: await this.regionDetectors(camera, model, detector),
      stationary: stationaryStage(camera),
      tracker: new Tracker(this.o.tracker),
      rules: new ZoneRules<FrameRef>(camera, this.o.cameras.timeZone, this.o.rules),
      lastTs: -Infinity,
      lastFrameAt: -Infinity,
      frames: 0,
      open: new Map(),
      links: new DuplicateLinks(this.o.duplicates),
    };
  }

  /**
   * The camera's model opened once more at each of the motion gate's small inputs, for detection on changed areas
   * (one session per model and size). None when gating is off, for a tiled model (its passes have a scale of their
   * own), or when the model has a fixed input shape (told once; the gate detects whole frames then).
   */
  private async regionDetectors(camera: Camera, model: ModelConfig, full: Detector): Promise<AreaDetector[]> {
    if (!camera.motion.enabled || model.tiling?.enabled) return [];
    // A mosaic is detected at the scale a whole frame is: its side in frame pixels is the input over that scale.
    const scale = Math.min(full.info.inputWidth / camera.width, full.info.inputHeight / camera.height);
    const fullPixels = full.info.inputWidth * full.info.inputHeight;
    const out: AreaDetector[] = [];
    for (const r of [...camera.motion.regionInputs].sort((a, b) => a - b)) {
      const size = Math.floor(r / scale);
      // Inference grows with the input's pixels; half a whole frame's is left for the rest (decode, letterbox).
      const max = Math.floor((0.5 * fullPixels) / (r * r));
      if (size >= Math.max(camera.width, camera.height) || max < 1) continue;
      const key = `${model.name}-regions-${r}`;
      let detector = this.byModel.get(key);
      if (detector === undefined && !this.noRegions.has(model.name)) {
        const { tiling: _t, ...plain } = model;
        try {
          detector = await createDetector({ ...plain, name: key, inputWidth: r, inputHeight: r }, this.o.logger);
          this.byModel.set(key, detector);
          this.detectors.push(detector);
        } catch (e) {
          this.noRegions.add(model.name);
          this.o.logger.info(
            { model: model.name, regionInput: r, err: (e as Error).message },
            'the model takes no other input size: the motion gate detects whole frames',
          );
        }
      }
      if (detector) out.push({ detector, input: r, size, max });
    }
    return out;
  }

  /**
   * Applies the console's cameras (the whole set, as the camera service publishes it): new ones start, removed ones
   * stop, a changed one takes its new zones, masks and settings from its next frame on. A camera whose frame size or
   * model changed starts afresh; otherwise its tracker is kept and only its zone rules are rebuilt (a stay under way
   * in a changed camera's zones starts its dwell again: the zone it was measured in may not exist any more). A camera
   * of the registry file is not touched (the file wins).
   */
  async applyLiveCameras(cameras: readonly Camera[]): Promise<void> {
    const run = this.liveChain.then(() => this.applyLive(cameras));
    this.liveChain = run.catch(() => undefined);
    return run;
  }

  private async applyLive(cameras: readonly Camera[]): Promise<void> {
    const wanted = new Map(cameras.filter((c) => !this.fileIds.has(c.id)).map((c) => [c.id, c]));
    let changed = 0;
    for (const id of this.cameras.keys()) {
      if (!this.fileIds.has(id) && !wanted.has(id)) {
        this.cameras.delete(id);
        changed++;
        this.o.logger.info({ camera: id }, 'camera removed in the console: its frames are refused from now on');
      }
    }
    for (const c of wanted.values()) {
      const st = this.cameras.get(c.id);
      if (st && JSON.stringify(st.camera) === JSON.stringify(c)) continue;
      changed++;
      if (
        !st ||
        st.camera.width !== c.width ||
        st.camera.height !== c.height ||
        st.camera.model !== c.model ||
        st.camera.district !== c.district
      ) {
        this.cameras.set(c.id, await this.cameraState(c));
      } else {
        // Swapped in one step between frames: the next frame sees the new zones and masks.
        st.camera = c;
        st.rules = new ZoneRules<FrameRef>(c, this.o.cameras.timeZone, this.o.rules);
        // New masks or settings: the gate starts a new background (its first frame is detected whole).
        st.gate = c.motion.enabled ? new MotionGate(c, c.motion) : null;
        st.stationary = stationaryStage(c);
        st.regions = await this.regionDetectors(c, modelFor(this.o.models, c.model), st.detector);
        st.open.clear();
      }
      this.o.logger.info(
        { camera: c.id, zones: c.zones.length, masks: c.masks.length },
        st ? 'camera changed in the console: applied' : 'camera added in the console: started',
      );
    }
    if (changed > 0) this.o.logger.info({ cameras: this.cameras.size }, 'vision worker cameras updated');
  }

  /**
   * Consumes camera frames from the bus (consumer group `group`: one camera's frames always reach one worker), and
   * re-check requests (a group of this process's own) unless they are off.
   */
  async start(group = 'vision'): Promise<void> {
    await this.rechecks?.start(this.o.recheckGroup);
    if (this.o.liveCameras !== false) {
      // Every worker must see every change: a group of this process's own, from now on (the camera service publishes
      // the whole set again every few seconds, so a worker that starts later catches up).
      this.liveSub = await subscribeDecoded<z.output<typeof LiveCamerasSchema>>(
        this.o.bus,
        'cameras',
        `vision-cameras-${os.hostname()}-${process.pid}`,
        async (batch) => {
          const latest = batch.at(-1)?.value;
          if (!latest) return;
          const key = JSON.stringify(latest);
          if (key === this.liveApplied) return;
          await this.applyLiveCameras(latest.cameras);
          this.liveApplied = key;
        },
        {
          maxBatch: 16,
          ephemeral: true,
          decode: jsonDecoder(LiveCamerasSchema),
          deadLetters: this.o.deadLetters,
          logger: this.o.logger,
        },
      );
    }
    // A message that is not a frame is dead-lettered by the decoder (bus/decoded.ts); a frame the worker cannot use,
    // by process().
    this.sub = await subscribeDecoded<Frame>(
      this.o.bus,
      'frames',
      group,
      async (batch) => {
        for (const m of batch) await this.process(m.value);
      },
      { maxBatch: 16, decode: (v) => decodeBusFrame(v), deadLetters: this.o.deadLetters, logger: this.o.logger },
    );
  }

  /** One frame through decode, detection, tracking and the rules; events it raises are published. */
  async process(frame: Frame): Promise<FrameResult> {
    const topic = framesTopic(frame);
    const st = this.cameras.get(frame.cameraId);
    if (!st) return this.reject(topic, frame, `unknown camera "${frame.cameraId}": add it to the camera registry`);
    if (st.camera.district !== frame.district) {
      return this.reject(
        topic,
        frame,
        `camera ${frame.cameraId} is registered in district ${st.camera.district}, frame came from ${frame.district}`,
      );
    }
    if (frame.ts <= st.lastTs) {
      // A repeat after a redelivery, or out of order: the tracker and rules only move forward in time.
      return {
        ok: true,
        camera: frame.cameraId,
        detections: [],
        tracks: 0,
        events: [],
        timings: zeroTimings(),
        detector: 'skipped',
      };
    }
    const t0 = now();
    // The size from the header first: decoding allocates what the header declares, and a file of a few hundred bytes
    // can declare 30000x30000 (a pixel bomb that would take the worker down and come back with the redelivered batch).
    let header: ImageHeader;
    try {
      header = await readImageHeader(frame.jpeg);
    } catch (e) {
      return this.reject(topic, frame, `not a decodable image: ${(e as Error).message}`);
    }
    const size = (w: number, h: number) =>
      `frame is ${w}x${h}, camera ${st.camera.id} is registered as ${st.camera.width}x${st.camera.height} (zones are drawn in those pixels)`;
    if (header.width !== st.camera.width || header.height !== st.camera.height) {
      return this.reject(
        topic,
        frame,
        `${size(header.width, header.height)}; refused from its ${header.format} header, not decoded`,
      );
    }
    const tm = now();
    let plan: GatePlan | null = null;
    if (st.gate) {
      try {
        plan = await st.gate.plan(frame.jpeg, frame.ts, st.tracker.current(), st.regions.length > 0);
      } catch (e) {
        return this.reject(topic, frame, `not a decodable image: ${(e as Error).message}`);
      }
    }
    const tg = now();
    let grey: GreyImage | null = plan?.grey ?? null;
    if (st.stationary && !grey) {
      try {
        grey = await st.stationary.grey(frame.jpeg);
      } catch (e) {
        return this.reject(topic, frame, `not a decodable image: ${(e as Error).message}`);
      }
    }
    const t0d = now();
    let kind: GateKind = plan?.kind ?? 'full';
    let det: DetectResult = { detections: [], timings: { preprocessMs: 0, inferenceMs: 0, postprocessMs: 0 } };
    let looked: Box[] = [];
    let t1 = t0d;
    if (kind !== 'skipped') {
      let img: RawImage;
      try {
        // Capped at the camera's pixels as well, whatever the header said.
        img = await decodeImage(frame.jpeg, st.camera.width * st.camera.height);
      } catch (e) {
        return this.reject(topic, frame, `not a decodable image: ${(e as Error).message}`);
      }
      if (img.width !== st.camera.width || img.height !== st.camera.height)
        return this.reject(topic, frame, size(img.width, img.height));
      t1 = now();
      const onAreas =
        plan?.kind === 'regions' && st.regions.length > 0 ? await detectOnAreas(img, plan.areas, st.regions) : null;
      if (onAreas && plan?.kind === 'regions') {
        ({ looked, ...det } = onAreas);
        if (plan.reverify) st.gate?.reverified(frame.ts);
      } else {
        kind = 'full';
        det = await st.detector.detect(img);
        st.gate?.verified(frame.ts);
        looked = [[0, 0, img.width, img.height]];
      }
    }
    const t2 = now();
    const masks = st.camera.masks;
    const found =
      masks.length === 0
        ? det.detections
        : det.detections.filter((d) => !masks.some((m) => pointInPolygon(bottomCentre(d.box), m.polygon)));
    // New standing objects on the sidewalks that no detection or track explains: stall candidates of no class.
    const ts0 = now();
    // The stage's own candidates' tracks are not what explains a candidate; their pixels are kept from ghost absorption.
    const live = st.stationary && grey ? st.tracker.current() : [];
    const still =
      st.stationary && grey
        ? st.stationary.update(
            grey,
            frame.ts,
            [
              ...found.filter((d) => d.role !== null).map((d) => d.box),
              ...live.filter((t) => t.className !== STATIONARY_CLASS).map((t) => t.box),
            ],
            live.filter((t) => t.className === STATIONARY_CLASS).map((t) => t.box),
          )
        : [];
    const ts1 = now();
    const detected = still.length > 0 ? [...found, ...still] : found;
    // Standing objects the detector did not look at this frame stay where they were (vision/motion/held.ts).
    const seen = st.gate
      ? [...detected, ...heldDetections(st.tracker.current(), looked, detected, st.tracker.options.iouThreshold)]
      : detected;
    const tracks = st.tracker.update(seen, frame.ts);
    const ref: FrameRef = { jpeg: frame.jpeg, width: st.camera.width, height: st.camera.height, ts: frame.ts };
    const outputs = st.rules.update(tracks, frame.ts, ref);
    const t3 = now();
    st.lastTs = frame.ts;
    st.lastFrameAt = Date.now();
    st.frames++;
    this.rechecks?.observe(st.camera.id, frame.ts, ref, (zoneId, box, role) => st.rules.presence(zoneId, box, role));
    const events: EnforcementEvent[] = [];
    for (const out of outputs) {
      const e = await this.onRuleOutput(st, out);
      if (e) events.push(e);
    }
    const t4 = now();
    const timings: FrameTimings = {
      motionMs: tg - tm,
      stationaryMs: t0d - tg + (ts1 - ts0),
      decodeMs: t1 - t0d + (tm - t0) + (t0d - tg),
      ...det.timings,
      trackingMs: t3 - t2,
      eventsMs: t4 - t3,
    };
    this.m.frames.inc({ camera: st.camera.id });
    this.m.detector.inc({ kind });
    this.m.latency.observe({ stage: 'decode' }, timings.decodeMs / 1000);
    this.m.latency.observe(
      { stage: 'inference' },
      (det.timings.preprocessMs + det.timings.inferenceMs + det.timings.postprocessMs) / 1000,
    );
    this.m.latency.observe({ stage: 'tracking' }, timings.trackingMs / 1000);
    return { ok: true, camera: st.camera.id, detections: seen, tracks: tracks.length, events, timings, detector: kind };
  }

  private async onRuleOutput(st: CameraState, out: RuleOutput<FrameRef>): Promise<EnforcementEvent | null> {
    if (out.type === 'event-end') {
      // The event went out while the object was still there; now its stay is over: complete the event with the
      // final dwell and last sighting (the review queue updates a pending event in place, by id).
      const raised = st.open.get(out.key);
      st.open.delete(out.key);
      if (!raised) return null;
      const caption = `${st.camera.id}  ${localTime(out.last.ts, this.o.cameras.timeZone)}  ${out.zone.id}  last`;
      const img = await drawEvidence(out.last.frame.jpeg, out.last.frame.width, out.last.frame.height, {
        box: out.last.box,
        ...zoneMarks(out.zone),
        caption,
        label: `${raised.className} #${raised.trackId}`,
      });
      const stored = await this.o.evidence.put(img);
      const last: EvidenceImage = {
        role: 'last',
        sha256: stored.sha256,
        url: this.url(stored.sha256),
        capturedAt: out.last.ts,
        width: out.last.frame.width,
        height: out.last.frame.height,
        bytes: stored.bytes,
      };
      const done: EnforcementEvent = {
        ...raised,
        end: out.end,
        dwellS: out.dwellS,
        evidence: [...raised.evidence.filter((e) => e.role !== 'last'), last],
      };
      st.links.remember(done);
      if (this.o.publish !== false)
        await this.o.bus.publish('events', [{ key: st.camera.id, value: JSON.stringify(done) }]);
      this.o.logger.info(
        { event: done.id, dwellS: Math.round(done.dwellS), reason: out.reason },
        'enforcement event completed: the object left',
      );
      return null;
    }
    const built = await this.buildEvent(st, out);
    const earlier = st.links.linkOf(built);
    const event: EnforcementEvent = earlier ? { ...built, possibleDuplicateOf: earlier } : built;
    st.links.remember(event);
    if (out.reason === 'confirmed') {
      st.open.set(out.key, event);
      // Bounded: an object that never leaves must not keep its event here for ever.
      if (st.open.size > 1000) st.open.delete(st.open.keys().next().value!);
    }
    if (this.o.publish !== false) {
      await this.o.bus.publish('events', [{ key: st.camera.id, value: JSON.stringify(event) }]);
    }
    this.m.events.inc({ type: event.type });
    this.o.logger.info(
      {
        event: event.id,
        type: event.type,
        camera: st.camera.id,
        zone: event.zone.id,
        dwellS: Math.round(event.dwellS),
        plate: event.plate?.text,
        possibleDuplicateOf: event.possibleDuplicateOf,
      },
      'enforcement event raised',
    );
    return event;
  }

  private async buildEvent(st: CameraState, r: RuleEvent<FrameRef>): Promise<EnforcementEvent> {
    const cam = st.camera;
    const tz = this.o.cameras.timeZone;
    const zone = r.zone;
    const { polygons, polylines } = zoneMarks(zone);
    const what = r.eventType.replace(/-/g, ' ');
    const evidence: EvidenceImage[] = [];
    const put = async (
      role: EvidenceImage['role'],
      s: Sighting<FrameRef>,
      data: Buffer,
      width: number,
      height: number,
    ) => {
      const stored = await this.o.evidence.put(data);
      evidence.push({
        role,
        sha256: stored.sha256,
        url: this.url(stored.sha256),
        capturedAt: s.ts,
        width,
        height,
        bytes: stored.bytes,
      });
    };
    const sightings: [EvidenceImage['role'], Sighting<FrameRef>][] = [
      ['first-seen', r.frames.firstSeen],
      ['threshold', r.frames.threshold],
      ['last', r.frames.last],
    ];
    for (const [role, s] of sightings) {
      const caption = `${cam.id}  ${localTime(s.ts, tz)}  ${zone.id}  ${what}  ${role}`;
      const img = await drawEvidence(s.frame.jpeg, s.frame.width, s.frame.height, {
        box: s.box,
        polygons,
        polylines,
        caption,
        label: `${r.className} #${r.trackId}`,
      });
      await put(role, s, img, s.frame.width, s.frame.height);
    }
    // The crop comes from the threshold frame: the moment the violation became one.
    const th = r.frames.threshold;
    const crop = await cropEvidence(th.frame.jpeg, th.frame.width, th.frame.height, th.box);
    const cropMeta = await readImageHeader(crop);
    await put('crop', th, crop, cropMeta.width, cropMeta.height);
    // The threshold frame as the camera sent it: the unaltered original, and a clean image for retraining.
    const clean = await this.o.evidence.put(th.frame.jpeg);
    evidence.push({
      role: 'frame',
      sha256: clean.sha256,
      url: this.url(clean.sha256),
      capturedAt: th.ts,
      width: th.frame.width,
      height: th.frame.height,
      bytes: clean.bytes,
      box: th.box,
    });

    let plate: EnforcementEvent['plate'];
    if (r.role === 'vehicle' && this.o.plates) {
      // Read from the sharpest of the sightings: try the threshold frame, then the others.
      for (const [, s] of [sightings[1]!, sightings[2]!, sightings[0]!]) {
        try {
          const p = await this.o.plates.read(await decodeImage(s.frame.jpeg, s.frame.width * s.frame.height), s.box);
          if (p && p.text.length >= 5 && (!plate || p.confidence > plate.confidence))
            plate = { text: p.text, confidence: Math.min(1, Math.max(0, p.confidence)) };
          if (plate && plate.confidence > 0.9) break;
        } catch (e) {
          this.o.logger.warn({ camera: cam.id, err: (e as Error).message }, 'plate reading failed');
        }
      }
    }
    const event: EnforcementEvent = {
      id: `${cam.id}:${zone.id}:${r.trackId}:${r.start}`,
      type: r.eventType,
      camera: {
        id: cam.id,
        district: cam.district,
        gridCell: cam.gridCell,
        location: cam.location,
        postedLocation: cam.postedLocation,
      },
      zone: { id: zone.id, name: zone.name },
      start: r.start,
      thresholdAt: r.thresholdAt,
      end: r.end,
      dwellS: r.dwellS,
      trackId: r.trackId,
      role: r.role,
      className: r.className,
      confidence: Math.min(1, Math.max(0, r.confidence)),
      box: r.box,
      ...(plate ? { plate } : {}),
      evidence,
      // A class-agnostic candidate (vision/stationary): no model named it, and the reviewer is told so.
      detector:
        r.className === STATIONARY_CLASS
          ? { model: STATIONARY_DETECTOR }
          : { model: st.detector.info.name, sha256: st.detector.info.sha256 },
      detectedAt: Date.now(),
    };
    return EnforcementEventSchema.parse(event);
  }

  private url(sha256: string): string {
    return (this.o.evidenceUrl ?? ((sha) => `/api/evidence/${sha}`))(sha256);
  }

  private async reject(topic: string, frame: Frame, reason: string): Promise<FrameResult> {
    await this.deadLetter(topic, frame.cameraId, reason, frame.jpeg);
    return { ok: false, camera: frame.cameraId, reason };
  }

  private async deadLetter(topic: string, camera: string, reason: string, payload: Buffer): Promise<void> {
    this.m.rejected.inc();
    await this.o.deadLetters.add([{ topic, reason, receivedAt: Date.now(), payload }]);
    const last = this.dlLogged.get(camera) ?? 0;
    if (Date.now() - last > 60_000) {
      this.dlLogged.set(camera, Date.now());
      this.o.logger.warn(
        { camera, reason },
        'frame dead-lettered (further ones for this camera logged at most once a minute)',
      );
    }
  }

  /** Candidates per camera, for a debug view. */
  candidates(cameraId: string) {
    return this.cameras.get(cameraId)?.rules.candidates() ?? [];
  }

  /** Re-check support (notify issue): is an object of `role` still in `zoneId` of the camera at its latest frame. */
  presence(cameraId: string, zoneId: string, box: Box, role: EnforcementEvent['role']) {
    return this.cameras.get(cameraId)?.rules.presence(zoneId, box, role) ?? 'absent';
  }

  /**
   * Re-checks a zone (the same path as a request on bus topic "rechecks", without asking whether this worker holds
   * the camera): watches the camera's next frames for observeS, stores the evidence, publishes the result on
   * "recheck-results" and returns it. Resolves "unavailable" when no frames come or the camera or zone is unknown.
   */
  async recheck(request: RecheckRequestInput): Promise<RecheckResult> {
    if (!this.rechecks) throw new Error('re-checks are off in this vision worker (option rechecks: false)');
    return this.rechecks.recheck(request);
  }

  async close(): Promise<void> {
    await this.rechecks?.close();
    await this.liveSub?.close();
    await this.sub?.close();
    for (const d of this.detectors) await d.close().catch(() => undefined);
  }
}

function zeroTimings(): FrameTimings {
  return {
    motionMs: 0,
    stationaryMs: 0,
    decodeMs: 0,
    preprocessMs: 0,
    inferenceMs: 0,
    postprocessMs: 0,
    trackingMs: 0,
    eventsMs: 0,
  };
}

/** The camera's stationary stage, on the motion gate's grey image when the gate runs; null when off. */
function stationaryStage(camera: Camera): StationaryStage | null {
  if (!stationaryEnabled(camera)) return null;
  return new StationaryStage(camera, camera.stationary, camera.motion.enabled ? camera.motion.width : undefined);
}
