// Re-checks: after a party was told to correct a violation, the notice service asks (bus topic "rechecks") whether
// the object is still in the zone. Every vision worker sees every request (a consumer group of its own per process);
// only the one that holds the camera's state (it has had a frame of that camera lately) answers. It watches the zone
// over the next frames, through the same tracker and zone rules that raised the event, decides present, absent or
// unavailable, draws the zone and the event's box on the deciding frame as evidence, and publishes the answer on
// "recheck-results", keyed by camera id. Results are idempotent by request id at the notice service.
import os from 'node:os';
import { z } from 'zod';
import { jsonDecoder, subscribeDecoded } from '../bus/decoded.js';
import type { Bus, Subscription } from '../bus/types.js';
import {
  RecheckRequestSchema,
  RecheckResultSchema,
  type Box,
  type EvidenceImage,
  type RecheckRequest,
  type RecheckRequestInput,
  type RecheckResult,
} from '../contracts/index.js';
import { parseConfig } from '../runtime/config.js';
import type { Logger } from '../runtime/log.js';
import type { DeadLetterStore } from '../store/types.js';
import type { Camera, Zone } from './cameras/config.js';
import { drawEvidence, localTime } from './evidence/compose.js';
import type { EvidenceStore } from './evidence/store.js';
import type { Presence } from './rules/zone-rules.js';

export const RecheckOptionsSchema = z.strictObject({
  /** A worker answers for a camera only when it had a frame of it within this many seconds: it holds its state. */
  holdS: z.number().positive().default(30),
  /**
   * Frames count from the request's time on (capture time), less this much for a camera clock a little behind: a
   * re-check must look at the zone after the grace period, not at frames of before that a lagging bus still holds.
   */
  clockSkewS: z.number().min(0).default(5),
  /** Wall-clock time beyond observeS to wait for frames before answering with what was seen (seconds). */
  slackS: z.number().min(0).default(5),
  /** "absent" needs at least this many frames at the end of the watch (or all of them, when fewer) with nothing there. */
  absentFrames: z.number().int().min(1).default(3),
  /** Watches at once in this process; beyond that a request is left unanswered (the notice service asks again). */
  maxWatches: z.number().int().min(1).default(256),
  /** Results kept by request id, so a repeated request is answered again without watching again. */
  rememberResults: z.number().int().min(0).default(1000),
});
export type RecheckOptions = z.output<typeof RecheckOptionsSchema>;
export type RecheckOptionsInput = z.input<typeof RecheckOptionsSchema>;

/** The frame the worker hands over: the JPEG as received (evidence is drawn on it) and its size. */
export interface RecheckFrame {
  jpeg: Buffer;
  width: number;
  height: number;
}

/** What the worker knows of a camera it holds. */
export interface HeldCamera {
  camera: Camera;
  /** Wall-clock ms of the last frame it processed of this camera (-Infinity: none yet). */
  lastFrameAt: number;
}

export interface RecheckResponderOptions {
  bus: Bus;
  evidence: EvidenceStore;
  deadLetters: DeadLetterStore;
  logger: Logger;
  /** The registry's time zone, for the caption. */
  timeZone: string;
  /** The camera as this worker holds it, or undefined when it is not one of its cameras. */
  held: (cameraId: string) => HeldCamera | undefined;
  evidenceUrl: (sha256: string) => string;
  /** Publish results on the bus (default true). */
  publish?: boolean;
  /** Who answers, for the log (default host:pid). */
  workerId?: string;
  options?: RecheckOptionsInput;
}

interface Sample {
  ts: number;
  presence: Presence;
  frame: RecheckFrame;
}

interface Watch {
  req: RecheckRequest;
  zone: Zone;
  startedAt: number;
  /** Capture time of the first frame counted; the watch ends at the first frame observeS after it. */
  firstTs?: number;
  presences: Presence[];
  first?: Sample;
  lastPresent?: Sample;
  last?: Sample;
  timer: NodeJS.Timeout | null;
  done: boolean;
  resolve: () => void;
}

export interface Decision {
  result: RecheckResult['result'];
  /** Why, in words, for the detail. */
  why: string;
}

/**
 * The verdict from the zone's presence in each frame watched, in order: present when a confirmed track of the role
 * overlapped the event's box in most of the frames; absent when nothing did (not even a track hidden for a moment) in
 * the last `absentFrames` frames; unavailable when no frames came, the spot was hidden throughout, or the frames
 * disagree (a re-check that cannot tell must neither close a case nor open one).
 */
export function decide(presences: readonly Presence[], absentFrames = 3): Decision {
  const n = presences.length;
  if (n === 0) return { result: 'unavailable', why: 'no frames from the camera during the watch' };
  const present = presences.filter((p) => p === 'present').length;
  const occluded = presences.filter((p) => p === 'occluded').length;
  const counts = `${present} present, ${occluded} hidden, ${n - present - occluded} empty of ${n} frames`;
  if (present * 2 > n) return { result: 'present', why: counts };
  const tail = presences.slice(-Math.min(absentFrames, n));
  if (tail.every((p) => p === 'absent')) return { result: 'absent', why: counts };
  if (occluded === n) return { result: 'unavailable', why: `the spot was hidden throughout (${counts})` };
  return { result: 'unavailable', why: `undecided (${counts})` };
}

export class RecheckResponder {
  readonly options: RecheckOptions;
  private readonly workerId: string;
  private readonly watches = new Map<string, Watch[]>();
  private readonly inflight = new Map<string, Promise<RecheckResult>>();
  private readonly answered = new Map<string, RecheckResult>();
  private sub: Subscription | null = null;
  private closed = false;

  constructor(private readonly o: RecheckResponderOptions) {
    this.options = parseConfig(RecheckOptionsSchema, o.options ?? {}, 're-check options');
    this.workerId = o.workerId ?? `${os.hostname()}:${process.pid}`;
  }

  /** The consumer group of this process: every worker sees every request. */
  static defaultGroup(): string {
    return `vision-recheck-${os.hostname()}-${process.pid}`;
  }

  /**
   * Subscribes bus topic `rechecks` in a group of this process's own, ephemeral: from the newest request on, with no
   * offsets kept, so a restarted worker does not read the topic's whole history and Kafka does not keep a group for
   * every process that ever ran. A request published while no worker listened goes unanswered, and the notice
   * service asks again (its attempts).
   */
  async start(group = RecheckResponder.defaultGroup()): Promise<void> {
    this.sub = await subscribeDecoded<RecheckRequest>(
      this.o.bus,
      'rechecks',
      group,
      async (batch) => {
        for (const m of batch) await this.onRequest(m.value);
      },
      {
        maxBatch: 64,
        ephemeral: true,
        decode: jsonDecoder(RecheckRequestSchema),
        deadLetters: this.o.deadLetters,
        logger: this.o.logger,
      },
    );
    this.o.logger.info({ group }, 're-check responder listening');
  }

  /** A request that is not one was dead-lettered by the decoder (bus/decoded.ts). */
  private async onRequest(req: RecheckRequest): Promise<void> {
    if (req.deadline <= Date.now()) {
      this.o.logger.debug({ request: req.id, camera: req.camera.id }, 're-check request past its deadline: ignored');
      return;
    }
    const held = this.o.held(req.camera.id);
    if (!held || !(Date.now() - held.lastFrameAt <= this.options.holdS * 1000)) {
      // Another worker holds this camera (or nobody does: the notice service will find no answer and try again).
      this.o.logger.debug(
        { request: req.id, camera: req.camera.id },
        're-check request for a camera this worker does not hold',
      );
      return;
    }
    if (!this.inflight.has(req.id) && this.watchCount() >= this.options.maxWatches) {
      this.o.logger.warn(
        { request: req.id, camera: req.camera.id, watches: this.watchCount() },
        'too many re-checks at once: request left unanswered',
      );
      return;
    }
    // Not awaited: the watch takes observeS, and requests for other cameras must not wait behind it.
    this.recheck(req).catch((e: Error) =>
      this.o.logger.error({ request: req.id, camera: req.camera.id, err: e.message }, 're-check failed'),
    );
  }

  private watchCount(): number {
    let n = 0;
    for (const w of this.watches.values()) n += w.length;
    return n;
  }

  /**
   * Watches the zone for the request's observeS over the camera's next frames, stores the evidence and publishes the
   * result (unless past its deadline). A repeated request id joins the watch under way, or gets the same result.
   */
  async recheck(input: RecheckRequestInput): Promise<RecheckResult> {
    const req = RecheckRequestSchema.parse(input);
    const known = this.answered.get(req.id);
    if (known) {
      await this.publish(known);
      return known;
    }
    let p = this.inflight.get(req.id);
    if (!p) {
      p = this.run(req).finally(() => this.inflight.delete(req.id));
      this.inflight.set(req.id, p);
    }
    return p;
  }

  private async run(req: RecheckRequest): Promise<RecheckResult> {
    const base = { id: req.id, eventId: req.eventId, cameraId: req.camera.id, worker: this.workerId };
    const now = Date.now();
    if (req.deadline <= now)
      return {
        ...base,
        result: 'unavailable',
        checkedAt: now,
        evidence: [],
        detail: 'the request was past its deadline',
      };
    const held = this.o.held(req.camera.id);
    const unavailable = async (detail: string) =>
      this.finish({ ...base, result: 'unavailable', checkedAt: Date.now(), evidence: [], detail });
    if (!held) return unavailable(`camera ${req.camera.id} is not in this worker's registry`);
    const zone = held.camera.zones.find((z) => z.id === req.zoneId);
    if (!zone) return unavailable(`camera ${req.camera.id} has no zone "${req.zoneId}"`);
    if (this.closed) return unavailable('the vision worker is stopping');

    const w = await new Promise<Watch>((resolve) => {
      const watch: Watch = {
        req,
        zone,
        startedAt: now,
        presences: [],
        timer: null,
        done: false,
        resolve: () => resolve(watch),
      };
      // Frames may stop (camera offline): answer with what was seen by then, and always before the deadline.
      const endBy = Math.min(now + (req.observeS + this.options.slackS) * 1000, req.deadline - 500);
      watch.timer = setTimeout(() => this.end(watch), Math.max(0, endBy - now));
      const list = this.watches.get(req.camera.id) ?? [];
      list.push(watch);
      this.watches.set(req.camera.id, list);
      this.o.logger.info(
        { request: req.id, event: req.eventId, camera: req.camera.id, zone: req.zoneId, observeS: req.observeS },
        're-check: watching the zone',
      );
    });
    if (this.closed) {
      // Not published: the notice service gets no answer and asks again, of whichever worker holds the camera then.
      return {
        ...base,
        result: 'unavailable',
        checkedAt: Date.now(),
        evidence: [],
        detail: 'the vision worker stopped during the watch',
      };
    }
    const d = decide(w.presences, this.options.absentFrames);
    const deciding = d.result === 'present' ? w.lastPresent : w.last;
    const evidence: EvidenceImage[] = [];
    if (deciding) {
      evidence.push(await this.draw(held.camera, w, deciding, d.result));
      if (w.first && w.first !== deciding)
        evidence.push(await this.draw(held.camera, w, w.first, d.result, 'first frame of the watch'));
    }
    const stopped =
      w.firstTs !== undefined && w.last && w.last.ts < w.firstTs + req.observeS * 1000
        ? '; frames stopped before the watch was over'
        : '';
    return this.finish({
      ...base,
      result: d.result,
      checkedAt: deciding?.ts ?? Date.now(),
      evidence,
      detail: `${d.why}, watched ${req.observeS} s${stopped}`.slice(0, 500),
    });
  }

  private async finish(r: RecheckResult): Promise<RecheckResult> {
    const result = RecheckResultSchema.parse(r);
    if (this.options.rememberResults > 0) {
      this.answered.set(result.id, result);
      if (this.answered.size > this.options.rememberResults) this.answered.delete(this.answered.keys().next().value!);
    }
    await this.publish(result);
    this.o.logger.info(
      {
        request: result.id,
        event: result.eventId,
        camera: result.cameraId,
        result: result.result,
        detail: result.detail,
      },
      're-check answered',
    );
    return result;
  }

  private async publish(r: RecheckResult): Promise<void> {
    if (this.o.publish === false || this.closed) return;
    await this.o.bus.publish('recheck-results', [{ key: r.cameraId, value: JSON.stringify(r) }]);
  }

  private async draw(
    camera: Camera,
    w: Watch,
    s: Sample,
    result: RecheckResult['result'],
    note?: string,
  ): Promise<EvidenceImage> {
    const zone = w.zone;
    const marks =
      zone.type === 'no-parking'
        ? { polygons: [zone.polygon], polylines: [] }
        : { polygons: [zone.sidewalk], polylines: [zone.storeLine] };
    const what = w.req.eventType === 'illegal-parking' ? 'illegal parking' : 'out-of-store vending';
    const caption = `${camera.id}  ${localTime(s.ts, this.o.timeZone)}  ${zone.id}  ${what}  re-check: ${result}${note ? ` (${note})` : ''}`;
    const img = await drawEvidence(s.frame.jpeg, s.frame.width, s.frame.height, {
      box: w.req.box,
      ...marks,
      caption,
      label: 'event box',
    });
    const stored = await this.o.evidence.put(img);
    return {
      role: 'recheck',
      sha256: stored.sha256,
      url: this.o.evidenceUrl(stored.sha256),
      capturedAt: s.ts,
      width: s.frame.width,
      height: s.frame.height,
      bytes: stored.bytes,
      box: w.req.box,
    };
  }

  /**
   * One processed frame of a camera (after the tracker and the zone rules): each watch of that camera notes whether
   * the object is there. `presence` asks the camera's zone rules about its latest frame.
   */
  observe(
    cameraId: string,
    ts: number,
    frame: RecheckFrame,
    presence: (zoneId: string, box: Box, role: RecheckRequest['role']) => Presence,
  ): void {
    const list = this.watches.get(cameraId);
    if (!list) return;
    for (const w of [...list]) {
      if (w.done || ts < w.req.requestedAt - this.options.clockSkewS * 1000) continue;
      let p: Presence;
      try {
        p = presence(w.req.zoneId, w.req.box, w.req.role);
      } catch {
        continue;
      }
      const s: Sample = { ts, presence: p, frame };
      w.firstTs ??= ts;
      w.first ??= s;
      w.last = s;
      if (p === 'present') w.lastPresent = s;
      w.presences.push(p);
      if (ts >= w.firstTs + w.req.observeS * 1000) this.end(w);
    }
  }

  private end(w: Watch): void {
    if (w.done) return;
    w.done = true;
    if (w.timer) clearTimeout(w.timer);
    const list = this.watches.get(w.req.camera.id);
    if (list) {
      const i = list.indexOf(w);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) this.watches.delete(w.req.camera.id);
    }
    w.resolve();
  }

  /** Stops listening; watches under way end now and are not published (the notice service asks again). */
  async close(): Promise<void> {
    this.closed = true;
    await this.sub?.close();
    this.sub = null;
    for (const list of [...this.watches.values()]) for (const w of [...list]) this.end(w);
    await Promise.allSettled([...this.inflight.values()]);
  }
}
