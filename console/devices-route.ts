// The device list of the console: every sensor the platform has heard from, its district and kind, when it was last
// heard and whether it is online. Neither store answers "which devices exist" today, so the directory follows the
// bus itself (readings and status, its own consumer group) and keeps a small snapshot file so the list survives a
// restart; open "sensor offline" alerts and the status topic (a device's MQTT last will) mark devices offline.
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { described, Failure, useZodSchemas } from '../api/schemas.js';
import { decodeBusReadings, IdSchema, SensorKindSchema } from '../contracts/index.js';
import type { Bus, BusMessage, Subscription } from '../bus/types.js';
import type { AlertManager } from '../alerts/manager.js';
import type { Alert } from '../alerts/types.js';
import type { Logger } from '../runtime/log.js';
import type { DeviceRegistry } from '../devices/registry.js';
import type { Device, DeviceKind } from '../devices/types.js';

export interface DeviceView {
  deviceId: string;
  district: string;
  kind: string;
  online: boolean;
  /** When the platform last received a reading of it (ISO), null when only known from an alert. */
  lastSeen: string | null;
  /** Why it counts as offline: its last will, an open offline alert, or silence. */
  offlineReason?: 'status' | 'alert' | 'silent' | 'never-seen';
  /** Alerts of this device that are not resolved. */
  openAlerts: number;
}

interface Entry {
  district: string;
  kind: string;
  /** Receive time of the latest reading (bus timestamp), 0 when never seen. */
  lastSeen: number;
  /** The status topic said offline after the latest reading. */
  statusOffline: boolean;
}

export interface DeviceDirectoryOptions {
  bus: Bus;
  logger: Logger;
  /** Open alerts (in-process, where the alert service runs) count per device; open "health.offline" alerts mark it offline. */
  alerts?: AlertManager | null;
  /** A device silent this long counts as offline even before the health check alerts. Default 1 h (rules health.offlineAfterS). */
  offlineAfterMs?: number;
  /** Where the list is kept between restarts ($DATA_DIR/devices.json); none = memory only. */
  snapshotFile?: string;
  /** How often the snapshot is written when something changed. Default 60 s. */
  snapshotEveryMs?: number;
  /** Consumer group prefix on the bus. Default "console-devices". */
  group?: string;
  /** For tests. */
  now?: () => number;
}

const SnapshotSchema = z.strictObject({
  version: z.literal(1),
  devices: z.array(
    z.strictObject({
      deviceId: IdSchema,
      district: IdSchema,
      kind: SensorKindSchema,
      lastSeen: z.number().int().min(0),
    }),
  ),
});

// Only what the directory needs from a reading or a status change on the bus.
const BusDeviceSchema = z.looseObject({ deviceId: IdSchema, district: IdSchema, kind: SensorKindSchema });
const BusStatusSchema = BusDeviceSchema.extend({ online: z.boolean() });

export class DeviceDirectory {
  private readonly devices = new Map<string, Entry>();
  /** deviceId → ids of its alerts that are not resolved; and which of them are "offline" health alerts. */
  private readonly open = new Map<string, Set<string>>();
  private readonly offlineAlerts = new Map<string, Set<string>>();
  private readonly subs: Subscription[] = [];
  private timer: NodeJS.Timeout | null = null;
  private dirty = false;
  private readonly now: () => number;
  private readonly onAlert = (a: Alert) => this.trackAlert(a);

  private constructor(private readonly o: DeviceDirectoryOptions) {
    this.now = o.now ?? Date.now;
  }

  static async start(o: DeviceDirectoryOptions): Promise<DeviceDirectory> {
    const d = new DeviceDirectory(o);
    d.loadSnapshot();
    if (o.alerts) {
      o.alerts.on('change', d.onAlert);
      // Open alerts also name devices (with district and kind) that have not reported since the last restart.
      const { items } = await o.alerts.list({ state: 'open', limit: 5000 });
      for (const a of items) d.trackAlert(a);
    }
    const group = o.group ?? 'console-devices';
    // The message key is the device id: known devices cost no JSON parsing, however busy the readings topic is.
    d.subs.push(await o.bus.subscribe('readings', group, async (batch) => d.onReadings(batch), { maxBatch: 5000 }));
    d.subs.push(await o.bus.subscribe('status', `${group}-status`, async (batch) => d.onStatus(batch)));
    if (o.snapshotFile) {
      d.timer = setInterval(() => d.saveSnapshot(), o.snapshotEveryMs ?? 60_000);
      d.timer.unref();
    }
    return d;
  }

  private loadSnapshot(): void {
    const file = this.o.snapshotFile;
    if (!file || !fs.existsSync(file)) return;
    try {
      const snap = SnapshotSchema.parse(JSON.parse(fs.readFileSync(file, 'utf8')));
      for (const s of snap.devices)
        this.devices.set(s.deviceId, {
          district: s.district,
          kind: s.kind,
          lastSeen: s.lastSeen,
          statusOffline: false,
        });
    } catch (e) {
      // A damaged snapshot only costs the list of silent devices until they report again.
      this.o.logger.warn(
        { file, err: (e as Error).message.slice(0, 300) },
        'device list snapshot unreadable; starting empty',
      );
    }
  }

  private saveSnapshot(): void {
    const file = this.o.snapshotFile;
    if (!file || !this.dirty) return;
    this.dirty = false;
    const devices = [...this.devices].map(([deviceId, e]) => ({
      deviceId,
      district: e.district,
      kind: e.kind,
      lastSeen: e.lastSeen,
    }));
    try {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      // Written beside and renamed: a crash mid-write never leaves half a file.
      const tmp = `${file}.tmp`;
      fs.writeFileSync(tmp, JSON.stringify({ version: 1, devices }));
      fs.renameSync(tmp, file);
    } catch (e) {
      this.dirty = true;
      this.o.logger.warn({ file, err: (e as Error).message }, 'device list snapshot not written');
    }
  }

  private onReadings(batch: BusMessage[]): void {
    for (const m of batch) {
      let e = this.devices.get(m.key);
      if (!e) {
        const parsed = readingsDevice(m);
        if (!parsed) continue;
        e = { district: parsed.district, kind: parsed.kind, lastSeen: 0, statusOffline: false };
        this.devices.set(parsed.deviceId, e);
      }
      if (m.timestamp >= e.lastSeen) {
        e.lastSeen = m.timestamp;
        e.statusOffline = false;
      }
      this.dirty = true;
    }
  }

  private onStatus(batch: BusMessage[]): void {
    for (const m of batch) {
      const s = parseJson(m, BusStatusSchema);
      if (!s) continue;
      let e = this.devices.get(s.deviceId);
      if (!e) {
        e = { district: s.district, kind: s.kind, lastSeen: 0, statusOffline: false };
        this.devices.set(s.deviceId, e);
        this.dirty = true;
      }
      // A last will older than the latest reading is stale (the device came back). Both are compared by bus time:
      // ingest publishes a batch's readings before its status changes, so a reading and the last will that followed
      // it in one batch keep their order.
      if (!s.online && m.timestamp >= e.lastSeen) e.statusOffline = true;
      if (s.online) e.statusOffline = false;
    }
  }

  private trackAlert(a: Alert): void {
    if (!this.devices.has(a.deviceId)) {
      this.devices.set(a.deviceId, { district: a.district, kind: a.kind, lastSeen: 0, statusOffline: false });
      this.dirty = true;
    }
    const toggle = (map: Map<string, Set<string>>, on: boolean) => {
      let set = map.get(a.deviceId);
      if (on) {
        if (!set) map.set(a.deviceId, (set = new Set()));
        set.add(a.id);
      } else if (set) {
        set.delete(a.id);
        if (set.size === 0) map.delete(a.deviceId);
      }
    };
    const isOpen = a.state !== 'resolved';
    toggle(this.open, isOpen);
    toggle(this.offlineAlerts, isOpen && a.ruleId === 'health.offline');
  }

  /** Every known device, by district, kind and id. */
  list(): DeviceView[] {
    const now = this.now();
    const limit = this.o.offlineAfterMs ?? 3_600_000;
    const out: DeviceView[] = [];
    for (const [deviceId, e] of this.devices) {
      let offlineReason: DeviceView['offlineReason'];
      if (e.lastSeen === 0) offlineReason = 'never-seen';
      else if (e.statusOffline) offlineReason = 'status';
      else if (this.offlineAlerts.has(deviceId)) offlineReason = 'alert';
      else if (now - e.lastSeen > limit) offlineReason = 'silent';
      out.push({
        deviceId,
        district: e.district,
        kind: e.kind,
        online: offlineReason === undefined,
        lastSeen: e.lastSeen ? new Date(e.lastSeen).toISOString() : null,
        ...(offlineReason ? { offlineReason } : {}),
        openAlerts: this.open.get(deviceId)?.size ?? 0,
      });
    }
    return out.sort(
      (a, b) =>
        a.district.localeCompare(b.district) || a.kind.localeCompare(b.kind) || a.deviceId.localeCompare(b.deviceId),
    );
  }

  get(deviceId: string): DeviceView | undefined {
    return this.devices.has(deviceId) ? this.list().find((d) => d.deviceId === deviceId) : undefined;
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.o.alerts?.off('change', this.onAlert);
    await Promise.all(this.subs.splice(0).map((s) => s.close()));
    this.saveSnapshot();
  }
}

// A message this view cannot use is skipped, never retried: it does not stop the partition. It is not dead-lettered
// here: the detectors read the same readings and status topics and dead-letter it (bus/decoded.ts), once.
/** The device of a readings message, decoded as the detectors decode it (contracts/bus-readings.ts); null when it is not one. */
function readingsDevice(m: BusMessage): z.output<typeof BusDeviceSchema> | null {
  try {
    const r = BusDeviceSchema.safeParse(decodeBusReadings(m.value)[0]);
    return r.success ? r.data : null;
  } catch {
    return null;
  }
}

function parseJson<S extends z.ZodType>(m: BusMessage, schema: S): z.output<S> | null {
  try {
    const r = schema.safeParse(JSON.parse(m.value.toString('utf8')));
    return r.success ? r.data : null;
  } catch {
    return null;
  }
}

const DevicesQuery = z.strictObject({
  district: IdSchema.optional(),
  kind: z.union([SensorKindSchema, z.literal('camera')]).optional(),
  online: z.enum(['true', 'false']).optional(),
  /** `unregistered`: devices that publish without a registry entry, for an admin to adopt. */
  status: z.enum(['active', 'maintenance', 'retired', 'unregistered']).optional(),
});

/**
 * One device as `GET /api/devices` lists it: the registry's record (issue 22's fixed names: id, kind, district,
 * location, gridCell, address, site, status) with what the directory saw (online, lastSeen, openAlerts). A device
 * that publishes without a registry entry has status `unregistered` and no place.
 */
export type DeviceListItem = Omit<DeviceView, 'kind'> &
  Pick<Device, 'ruleGroup' | 'installedAt' | 'commissionedAt'> & {
    id: string;
    kind: DeviceKind;
    location: Device['location'] | null;
    gridCell: string | null;
    address: string;
    site: Device['site'];
    status: Device['status'] | 'unregistered';
  };

/** The registry's devices with their directory state, then the devices heard from that are not registered. */
export function listDevices(directory: DeviceDirectory, registry: DeviceRegistry | null): DeviceListItem[] {
  const seen = new Map(directory.list().map((v) => [v.deviceId, v]));
  const out: DeviceListItem[] = [];
  for (const d of registry?.list() ?? []) {
    const v = seen.get(d.id);
    seen.delete(d.id);
    out.push({
      deviceId: d.id,
      online: v?.online ?? false,
      lastSeen: v?.lastSeen ?? null,
      ...(v ? (v.offlineReason ? { offlineReason: v.offlineReason } : {}) : { offlineReason: 'never-seen' as const }),
      openAlerts: v?.openAlerts ?? 0,
      id: d.id,
      kind: d.kind,
      district: d.district,
      location: d.location,
      gridCell: d.gridCell,
      address: d.address,
      site: d.site,
      ruleGroup: d.ruleGroup,
      installedAt: d.installedAt,
      commissionedAt: d.commissionedAt,
      status: d.status,
    });
  }
  for (const v of seen.values()) {
    out.push({
      ...v,
      id: v.deviceId,
      kind: v.kind as DeviceKind,
      location: null,
      gridCell: null,
      address: '',
      site: null,
      ruleGroup: null,
      installedAt: null,
      commissionedAt: null,
      status: 'unregistered',
    });
  }
  return out.sort(
    (a, b) => a.district.localeCompare(b.district) || a.kind.localeCompare(b.kind) || a.id.localeCompare(b.id),
  );
}

// One device as the list answers it, for the OpenAPI document (answers are sent as built: api/schemas.ts).
const DeviceItem = z.looseObject({
  id: z.string(),
  deviceId: z.string().describe('the same as id, as before the registry'),
  kind: z.string(),
  district: z.string(),
  location: z.looseObject({}).nullable(),
  gridCell: z.string().nullable(),
  address: z.string(),
  site: z.unknown(),
  status: z.enum(['active', 'maintenance', 'retired', 'unregistered']),
  online: z.boolean(),
  lastSeen: z.string().nullable().describe('ISO 8601; null when only known from an alert'),
  offlineReason: z.enum(['status', 'alert', 'silent', 'never-seen']).optional(),
  openAlerts: z.number().int(),
});

export interface DeviceRoutesOptions {
  directory: DeviceDirectory;
  registry?: DeviceRegistry | null;
}

/** `GET /api/devices` → `[DeviceListItem]` (with `deviceId` beside `id`, as before the registry), by district, kind, id. */
export const deviceRoutes: FastifyPluginAsyncZod<DeviceRoutesOptions> = async (app, o) => {
  useZodSchemas(app, 'query');
  const Devices = z.array(DeviceItem);
  app.get(
    '/api/devices',
    {
      schema: {
        tags: ['console'],
        summary: 'Registered devices with their state, then those heard from that are not registered',
        querystring: DevicesQuery,
        response: { 200: Devices, 400: Failure },
      },
    },
    async (req) => {
      const f = req.query;
      const items = listDevices(o.directory, o.registry ?? null).filter(
        (d) =>
          (!f.district || d.district === f.district) &&
          (!f.kind || d.kind === f.kind) &&
          (!f.online || String(d.online) === f.online) &&
          (!f.status || d.status === f.status),
      );
      return described(Devices, items);
    },
  );
};
