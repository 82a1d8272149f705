// The device registry: every registered sensor and camera with its place, kept in one JSON file
// ($DATA_DIR/device-registry.json). A city has thousands of devices, not millions: the whole registry fits in memory,
// alerts look a place up on their hot path without a query, and a file written beside and renamed is never half
// written. One process writes it (the API's, ROLE=all or api), like the other console stores.
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../runtime/config.js';
import {
  DeviceInputSchema,
  DeviceSchema,
  DeviceUpdateSchema,
  placeOf,
  type Device,
  type DeviceInput,
  type DevicePlace,
} from './types.js';
import type { GridIndex } from './geo.js';

const FileSchema = z.strictObject({ version: z.literal(1), devices: z.array(DeviceSchema) });

export class DeviceError extends Error {
  constructor(
    message: string,
    readonly status: 400 | 404 | 409,
    readonly code: 'bad_request' | 'not_found' | 'conflict',
  ) {
    super(message);
  }
}

export interface DeviceRegistryOptions {
  /** The registry file; ':memory:' keeps it in memory only (tests). */
  file: string;
  /** The city's grid cells: a device registered without a grid cell gets the cell its location lies in. */
  grid?: GridIndex | null;
  now?: () => number;
}

export class DeviceRegistry {
  private readonly devices = new Map<string, Device>();
  private chain: Promise<unknown> = Promise.resolve();
  private readonly now: () => number;

  private constructor(private readonly o: DeviceRegistryOptions) {
    this.now = o.now ?? Date.now;
  }

  static open(o: DeviceRegistryOptions): DeviceRegistry {
    const r = new DeviceRegistry(o);
    if (o.file !== ':memory:' && fs.existsSync(o.file)) {
      let parsed: z.infer<typeof FileSchema>;
      try {
        parsed = FileSchema.parse(JSON.parse(fs.readFileSync(o.file, 'utf8')));
      } catch (e) {
        // Refuse to start rather than overwrite a registry an operator can still repair.
        throw new ConfigError(
          `device registry ${o.file} is unreadable (${(e as Error).message.slice(0, 300)}): repair or move it away`,
        );
      }
      for (const d of parsed.devices) r.devices.set(d.id, d);
    }
    return r;
  }

  list(): Device[] {
    return [...this.devices.values()].sort(
      (a, b) => a.district.localeCompare(b.district) || a.kind.localeCompare(b.kind) || a.id.localeCompare(b.id),
    );
  }

  get(id: string): Device | undefined {
    return this.devices.get(id);
  }

  /** Where a registered device is; undefined for one that is not registered. */
  place(id: string): DevicePlace | undefined {
    const d = this.devices.get(id);
    return d ? placeOf(d) : undefined;
  }

  // Changes one at a time: each is written to disk before the next is judged, so two admins never both create one id.
  private serial<T>(f: () => T): Promise<T> {
    const next = this.chain.then(f);
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** Registers a new device; 409 when the id is registered already. */
  create(input: unknown, by: string): Promise<Device> {
    return this.serial(() => {
      const i = parse(DeviceInputSchema, input);
      if (this.devices.has(i.id))
        throw new DeviceError(
          `device ${i.id} is registered already: change it with PUT /api/devices/${i.id}`,
          409,
          'conflict',
        );
      const at = new Date(this.now()).toISOString();
      const d: Device = { ...i, gridCell: this.cellFor(i), createdAt: at, updatedAt: at, createdBy: by, updatedBy: by };
      this.commit([d]);
      return d;
    });
  }

  /** Replaces a registered device's record (all but its id and creation); 404 when it is not registered. */
  update(id: string, input: unknown, by: string): Promise<Device> {
    return this.serial(() => {
      const before = this.devices.get(id);
      if (!before)
        throw new DeviceError(`device ${id} is not registered: register it with POST /api/devices`, 404, 'not_found');
      const i = parse(DeviceUpdateSchema, input);
      const d: Device = {
        ...i,
        id,
        gridCell: this.cellFor(i),
        createdAt: before.createdAt,
        createdBy: before.createdBy,
        updatedAt: new Date(this.now()).toISOString(),
        updatedBy: by,
      };
      this.commit([d]);
      return d;
    });
  }

  /**
   * Creates or replaces many devices at once (CSV import): all of them or none. A row that does not validate is
   * reported with its number and nothing is written.
   */
  upsertMany(
    rows: readonly { line: number; input: unknown }[],
    by: string,
  ): Promise<{ created: Device[]; updated: Device[] }> {
    return this.serial(() => {
      const errors: string[] = [];
      const next: Device[] = [];
      const seen = new Set<string>();
      const at = new Date(this.now()).toISOString();
      for (const { line, input } of rows) {
        const r = DeviceInputSchema.safeParse(input);
        if (!r.success) {
          errors.push(`line ${line}: ${issues(r.error)}`);
          continue;
        }
        if (seen.has(r.data.id)) {
          errors.push(`line ${line}: ${r.data.id} appears twice`);
          continue;
        }
        seen.add(r.data.id);
        try {
          const before = this.devices.get(r.data.id);
          const gridCell = this.cellFor(r.data);
          next.push(
            before
              ? {
                  ...r.data,
                  gridCell,
                  createdAt: before.createdAt,
                  createdBy: before.createdBy,
                  updatedAt: at,
                  updatedBy: by,
                }
              : { ...r.data, gridCell, createdAt: at, updatedAt: at, createdBy: by, updatedBy: by },
          );
        } catch (e) {
          errors.push(`line ${line}: ${(e as Error).message}`);
        }
      }
      if (errors.length)
        throw new DeviceError(
          `nothing imported: ${errors.slice(0, 20).join('; ')}${errors.length > 20 ? `; and ${errors.length - 20} more` : ''}`,
          400,
          'bad_request',
        );
      const created = next.filter((d) => !this.devices.has(d.id));
      const updated = next.filter((d) => this.devices.has(d.id));
      this.commit(next);
      return { created, updated };
    });
  }

  /** The grid cell given, else the one the location lies in; a clear error when neither is known. */
  private cellFor(i: { gridCell?: string; location: { lat: number; lon: number } }): string {
    if (i.gridCell) return i.gridCell;
    const found = this.o.grid?.cellAt(i.location);
    if (!found) {
      throw new DeviceError(
        `no grid cell given and none of the city's grid cells contains ${i.location.lat}, ${i.location.lon}: give gridCell (15 digits)`,
        400,
        'bad_request',
      );
    }
    return found;
  }

  /** Applies devices to the map and the file together: when the write fails, memory is left as it was. */
  private commit(devices: readonly Device[]): void {
    const next = new Map(this.devices);
    for (const d of devices) next.set(d.id, d);
    if (this.o.file !== ':memory:') {
      fs.mkdirSync(path.dirname(this.o.file), { recursive: true });
      const tmp = `${this.o.file}.${process.pid}.tmp`;
      const fd = fs.openSync(tmp, 'w');
      try {
        fs.writeSync(fd, JSON.stringify({ version: 1, devices: [...next.values()] }));
        // On disk before the API answers: a registered device survives a power cut.
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(tmp, this.o.file);
    }
    for (const d of devices) this.devices.set(d.id, d);
  }

  /** Waits for changes in flight. */
  async close(): Promise<void> {
    await this.chain.catch(() => undefined);
  }
}

function issues(e: z.ZodError): string {
  return e.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
}

function parse<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const r = schema.safeParse(input);
  if (!r.success) throw new DeviceError(issues(r.error), 400, 'bad_request');
  return r.data;
}

export type { DeviceInput };
