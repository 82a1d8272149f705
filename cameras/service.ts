// The cameras an admin registers in the console, beside the ones shipped in the registry file (CAMERAS_FILE). It
// keeps them in the camera store, writes every change to the audit trail with who made it, and publishes the whole
// set on bus topic "cameras" at once after each change (and again every few seconds, for workers that start later),
// so every vision worker, in this process or another, applies it from its next frame on (VisionWorker.applyLiveCameras).
// It also keeps each camera's latest frame off bus topic "frames" for the zone editor to draw on.
import os from 'node:os';
import { subscribeDecoded } from '../bus/decoded.js';
import type { Bus, Subscription } from '../bus/types.js';
import { decodeBusFrame, type DeadLetter, type Frame } from '../contracts/index.js';
import { readImageHeader } from '../runtime/image.js';
import type { Logger } from '../runtime/log.js';
import type { AuditEntry } from '../users/types.js';
import type { Camera, Zone } from '../vision/cameras/config.js';
import {
  buildCamera,
  CameraSettingsSchema,
  ZonesBodySchema,
  type ConsoleSource,
  type Credentials,
  type Issue,
  type StoredCamera,
} from './schema.js';
import type { CameraStore } from './store.js';

/** Who changes a camera: the audit trail's `by` and `ip`. */
export interface Actor {
  username: string;
  ip: string;
}

/** A refusal the API answers with its status; `issues` point at the fields (the zone editor marks them). */
export class CameraError extends Error {
  constructor(
    readonly status: 400 | 404 | 409,
    message: string,
    readonly issues: Issue[] = [],
  ) {
    super(message);
  }
}

export interface CameraView {
  /** `file`: shipped in CAMERAS_FILE, read-only here; `console`: registered in the console. */
  origin: 'file' | 'console';
  camera: Camera;
  source?: ConsoleSource;
  hasCredentials: boolean;
  createdAt?: number;
  createdBy?: string;
  updatedAt?: number;
  updatedBy?: string;
  /** The latest frame this process has seen: when, and its size (which must be the registered one). */
  latestFrame: { ts: number; width: number; height: number } | null;
}

export interface CameraServiceOptions {
  store: CameraStore;
  /** The registry file's cameras (and the demo's simulated ones): shown, never changed here, and they win an id. */
  fileCameras: readonly Camera[];
  bus: Bus;
  audit: (e: AuditEntry) => Promise<void>;
  deadLetters: { add(items: readonly DeadLetter[]): Promise<void> };
  logger: Logger;
  /** How often the whole set is published again without a change; default 10 s. */
  republishMs?: number;
  /** Keep the latest frame of each camera (bus topic "frames"); default on. */
  latestFrames?: boolean;
  now?: () => number;
}

type Listener = (cameras: readonly StoredCamera[]) => void;

export class CameraService {
  private cameras = new Map<string, StoredCamera>();
  private readonly fileIds: Set<string>;
  private readonly frames = new Map<string, { jpeg: Buffer; ts: number; width: number; height: number }>();
  private readonly listeners = new Set<Listener>();
  private timer: NodeJS.Timeout | null = null;
  private sub: Subscription | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  private readonly now: () => number;

  private constructor(private readonly o: CameraServiceOptions) {
    this.fileIds = new Set(o.fileCameras.map((c) => c.id));
    this.now = o.now ?? Date.now;
  }

  static async open(o: CameraServiceOptions): Promise<CameraService> {
    const s = new CameraService(o);
    for (const c of await o.store.list()) {
      if (s.fileIds.has(c.camera.id)) {
        o.logger.warn(
          { camera: c.camera.id },
          'a camera registered in the console has the id of one in the registry file: the file wins, the console one is not used',
        );
        continue;
      }
      s.cameras.set(c.camera.id, c);
    }
    if (o.latestFrames !== false) {
      // Every API process keeps its own latest frames: a group of its own, from now on.
      s.sub = await subscribeDecoded<Frame>(
        o.bus,
        'frames',
        `console-frames-${os.hostname()}-${process.pid}`,
        async (batch) => {
          for (const m of batch) await s.keepFrame(m.value);
        },
        {
          maxBatch: 64,
          ephemeral: true,
          decode: (v) => decodeBusFrame(v),
          deadLetters: o.deadLetters,
          logger: o.logger,
        },
      );
    }
    await s.publish();
    s.timer = setInterval(
      () =>
        void s
          .publish()
          .catch((e: Error) =>
            o.logger.warn({ err: e.message }, 'cannot publish the console cameras on the bus; trying again'),
          ),
      o.republishMs ?? 10_000,
    );
    s.timer.unref();
    o.logger.info({ console: s.cameras.size, file: s.fileIds.size }, 'camera registry open');
    return s;
  }

  private async keepFrame(f: Frame): Promise<void> {
    if (!this.cameras.has(f.cameraId) && !this.fileIds.has(f.cameraId)) return;
    const prev = this.frames.get(f.cameraId);
    if (prev && prev.ts >= f.ts) return;
    try {
      const h = await readImageHeader(f.jpeg);
      this.frames.set(f.cameraId, { jpeg: f.jpeg, ts: f.ts, width: h.width, height: h.height });
    } catch {
      // Not an image: the vision worker dead-letters it with the reason; the editor keeps the last good one.
    }
  }

  /** The console's cameras, for the frame feed (cameras/feed.ts). */
  consoleCameras(): StoredCamera[] {
    return [...this.cameras.values()];
  }

  /** Called with the console's cameras after every change. */
  onChange(l: Listener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  list(): CameraView[] {
    const file: CameraView[] = this.o.fileCameras.map((camera) => ({
      origin: 'file',
      camera,
      hasCredentials: false,
      latestFrame: this.frameInfo(camera.id),
    }));
    const mine: CameraView[] = [...this.cameras.values()].map((c) => this.view(c));
    return [...file, ...mine].sort((a, b) => a.camera.id.localeCompare(b.camera.id));
  }

  get(id: string): CameraView | null {
    return this.list().find((c) => c.camera.id === id) ?? null;
  }

  latestFrame(id: string): { jpeg: Buffer; ts: number } | null {
    return this.frames.get(id) ?? null;
  }

  /** A console camera's credentials, for the frame feed; never served or logged. */
  credentials(id: string): Promise<Credentials | null> {
    return this.o.store.credentials(id);
  }

  private frameInfo(id: string): CameraView['latestFrame'] {
    const f = this.frames.get(id);
    return f ? { ts: f.ts, width: f.width, height: f.height } : null;
  }

  private view(c: StoredCamera): CameraView {
    return { origin: 'console', ...c, latestFrame: this.frameInfo(c.camera.id) };
  }

  create(input: unknown, actor: Actor): Promise<CameraView> {
    return this.serial(async () => {
      const s = parse(CameraSettingsSchema, input);
      if (this.fileIds.has(s.id))
        throw new CameraError(
          409,
          `camera "${s.id}" is in the registry file (CAMERAS_FILE): change it there, or choose another id`,
        );
      if (this.cameras.has(s.id)) throw new CameraError(409, `camera "${s.id}" is already registered`);
      const { camera, issues } = buildCamera(s, { zones: [], masks: [] });
      if (issues.length) throw new CameraError(400, issueText(issues), issues);
      await this.o.store.put({ camera, source: s.source, at: this.now(), by: actor.username }, s.credentials ?? null);
      await this.audit(
        'camera_created',
        camera.id,
        actor,
        `${describeSource(s.source)}${s.credentials ? ', with credentials' : ''}`,
      );
      return this.changed(camera.id);
    });
  }

  /** New settings for a console camera; its zones stay, and must still fit the frame. */
  update(id: string, input: unknown, actor: Actor): Promise<CameraView> {
    return this.serial(async () => {
      const prev = this.mine(id);
      const s = parse(CameraSettingsSchema, { ...(typeof input === 'object' && input ? input : {}), id });
      const { camera, issues } = buildCamera(s, prev.camera);
      if (issues.length)
        throw new CameraError(400, `the camera's zones do not fit these settings: ${issueText(issues)}`, issues);
      await this.o.store.put({ camera, source: s.source, at: this.now(), by: actor.username }, s.credentials);
      const fields: string[] = (
        [
          'district',
          'postedLocation',
          'gridCell',
          'location',
          'width',
          'height',
          'fps',
          'model',
          'publishedAt',
          'motion',
        ] as const
      ).filter((k) => JSON.stringify(prev.camera[k]) !== JSON.stringify(camera[k]));
      if (JSON.stringify(prev.source) !== JSON.stringify(s.source)) fields.push(`source: ${describeSource(s.source)}`);
      if (s.credentials !== undefined) fields.push(s.credentials ? 'credentials set' : 'credentials removed');
      await this.audit('camera_updated', id, actor, fields.length ? fields.join(', ') : 'no change');
      return this.changed(id);
    });
  }

  /** The zone editor's save: every zone and mask of a console camera. */
  setZones(id: string, input: unknown, actor: Actor): Promise<CameraView> {
    return this.serial(async () => {
      const prev = this.mine(id);
      const body = parse(ZonesBodySchema, input);
      const camera: Camera = { ...prev.camera, zones: body.zones, masks: body.masks };
      const { issues } = buildCamera(
        {
          id,
          district: camera.district,
          place: camera.postedLocation,
          gridCell: camera.gridCell,
          location: camera.location,
          width: camera.width,
          height: camera.height,
          fps: camera.fps,
          model: camera.model,
          publishedAt: camera.publishedAt,
          source: prev.source,
        },
        camera,
      );
      if (issues.length) throw new CameraError(400, issueText(issues), issues);
      await this.o.store.put({ camera, source: prev.source, at: this.now(), by: actor.username });
      await this.audit('camera_zones_changed', id, actor, zoneChanges(prev.camera, camera));
      return this.changed(id);
    });
  }

  remove(id: string, actor: Actor): Promise<void> {
    return this.serial(async () => {
      this.mine(id);
      await this.o.store.delete(id);
      await this.audit('camera_deleted', id, actor);
      this.cameras.delete(id);
      this.frames.delete(id);
      await this.afterChange();
    });
  }

  private mine(id: string): StoredCamera {
    const c = this.cameras.get(id);
    if (c) return c;
    if (this.fileIds.has(id))
      throw new CameraError(409, `camera "${id}" is in the registry file (CAMERAS_FILE): change it there`);
    throw new CameraError(404, `no camera "${id}"`);
  }

  private async changed(id: string): Promise<CameraView> {
    const c = await this.o.store.get(id);
    if (!c) throw new Error(`camera ${id} vanished from the store`);
    this.cameras.set(id, c);
    await this.afterChange();
    return this.view(c);
  }

  private async afterChange(): Promise<void> {
    // Published before the answer: when the admin sees "saved", the workers have it on their bus.
    await this.publish().catch((e: Error) =>
      this.o.logger.warn(
        { err: e.message },
        'cannot publish the console cameras on the bus; published again within seconds',
      ),
    );
    const all = this.consoleCameras();
    for (const l of this.listeners) l(all);
  }

  private async publish(): Promise<void> {
    const cameras = [...this.cameras.values()].map((c) => c.camera);
    await this.o.bus.publish('cameras', [{ key: 'console', value: JSON.stringify({ cameras }) }]);
  }

  private audit(action: AuditEntry['action'], cameraId: string, actor: Actor, detail?: string): Promise<void> {
    this.o.logger.info({ camera: cameraId, by: actor.username, action, detail }, 'camera changed in the console');
    return this.o.audit({
      ts: this.now(),
      action,
      username: cameraId,
      by: actor.username,
      ip: actor.ip,
      detail: detail?.slice(0, 2000),
    });
  }

  // One change at a time: two admins saving the same camera must not interleave their read and write.
  private serial<T>(f: () => Promise<T>): Promise<T> {
    const next = this.chain.then(f);
    this.chain = next.catch(() => undefined);
    return next;
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.sub?.close();
    await this.chain.catch(() => undefined);
  }
}

function parse<T>(
  schema: {
    safeParse(
      x: unknown,
    ): { success: true; data: T } | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } };
  },
  input: unknown,
): T {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => ({
    path: i.path.map((p) => (typeof p === 'number' ? p : String(p))),
    message: i.message,
  }));
  throw new CameraError(400, issueText(issues), issues);
}

function issueText(issues: Issue[]): string {
  return issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
}

/** The source for the audit trail: its type and where, never credentials (which the URL cannot hold, see schema). */
function describeSource(s: ConsoleSource): string {
  const where = 'url' in s ? s.url : 'dir' in s ? s.dir : '';
  return `${s.type} ${where}`.trim();
}

function zoneSummary(z: Zone): string {
  const pts =
    z.type === 'no-parking'
      ? `${z.polygon.length} points`
      : `line ${z.storeLine.length} points, sidewalk ${z.sidewalk.length} points`;
  const when = (z.type === 'no-parking' ? z.windows : z.businessHours).map((w) => `${w.from}-${w.to}`).join(' ');
  return `${z.id} (${z.type}, ${pts}, dwell ${z.dwellS} s, ${when})`;
}

/** What a save changed, zone by zone: the audit trail's detail. */
export function zoneChanges(before: Camera, after: Camera): string {
  const out: string[] = [];
  const prev = new Map(before.zones.map((z) => [z.id, z]));
  const next = new Map(after.zones.map((z) => [z.id, z]));
  for (const [id, z] of next) {
    const p = prev.get(id);
    if (!p) out.push(`added ${zoneSummary(z)}`);
    else if (JSON.stringify(p) !== JSON.stringify(z)) out.push(`changed ${zoneSummary(z)}`);
  }
  for (const id of prev.keys()) if (!next.has(id)) out.push(`removed ${id}`);
  const masks = (c: Camera) => JSON.stringify(c.masks);
  if (masks(before) !== masks(after))
    out.push(`masks: ${after.masks.map((m) => `${m.id} (${m.polygon.length} points)`).join(', ') || 'none'}`);
  return out.join('; ') || 'no change';
}
