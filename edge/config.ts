// Edge agent configuration: a JSON file (EDGE_CONFIG or --config) with environment overrides, validated here so
// that a mistake stops the agent with a message naming the field.
import { z } from 'zod';
import { IdSchema, SensorKindSchema } from '../contracts/index.js';
import { parseConfig, readJsonFile } from '../runtime/config.js';
import { SimulatorDriverSchema } from './drivers/simulator/config.js';
import { EdgeCameraSchema } from './drivers/camera/config.js';
import { Hj212ConfigSchema } from './drivers/hj212/config.js';
import { ModbusDriverSchema } from './drivers/modbus/config.js';

export const DriverSchema = z.discriminatedUnion('type', [SimulatorDriverSchema, ModbusDriverSchema]);

export const DeviceSchema = z.strictObject({
  id: IdSchema,
  kind: SensorKindSchema,
  district: IdSchema,
  /** The device's own MQTT credentials; devices may publish only under their own topics. */
  username: z.string().optional(),
  password: z.string().optional(),
  driver: DriverSchema,
});

const MiB = 1024 * 1024;

export const EdgeConfigSchema = z
  .strictObject({
    gatewayId: IdSchema,
    mqtt: z.strictObject({
      url: z.string().regex(/^(mqtts?|wss?|tcp):\/\/.+/, 'must be a broker URL such as mqtt://host:1883'),
      keepaliveS: z.number().int().min(5).max(3600).default(30),
      reconnectMinMs: z.number().int().min(100).default(500),
      reconnectMaxMs: z.number().int().min(1000).default(30_000),
      /**
       * Wait this long after (re)connecting before sending: after a broker restart, subscribers (ingest) need a
       * moment to subscribe again, and a broker drops messages that no subscription matches.
       */
      settleMs: z.number().int().min(0).max(60_000).default(1000),
      /** The CA trusted for an mqtts:// broker (PEM file; a city's own CA); else Node's public CAs. */
      caFile: z.string().min(1).optional(),
    }),
    buffer: z.strictObject({
      dir: z.string().min(1),
      maxBytes: z
        .number()
        .int()
        .min(MiB)
        .default(256 * MiB),
      segmentBytes: z
        .number()
        .int()
        .min(4096)
        .default(4 * MiB),
      fsyncMs: z.number().int().min(0).default(1000),
    }),
    publish: z
      .strictObject({
        /** Messages in flight per device before waiting for acknowledgements. */
        inflight: z.number().int().min(1).max(10_000).default(100),
        /** Readings per message when a backlog is replayed. */
        maxBatch: z.number().int().min(1).max(1000).default(100),
      })
      .prefault({}),
    devices: z.array(DeviceSchema).default([]),
    /** Street cameras: frames go upstream as JPEG over MQTT 5. */
    cameras: z.array(EdgeCameraSchema).default([]),
    /** An HJ 212-2017 server that dust, noise and fume monitors connect to (edge/drivers/hj212). */
    hj212: Hj212ConfigSchema.optional(),
    /** MQTT credentials of the gateway's own connection (HJ 212 monitors share it). */
    gatewayCredentials: z
      .strictObject({ username: z.string().optional(), password: z.string().optional() })
      .prefault({}),
  })
  .superRefine((c, ctx) => {
    if (c.devices.length === 0 && c.cameras.length === 0 && !c.hj212) {
      ctx.addIssue({
        code: 'custom',
        path: ['devices'],
        message: 'nothing to run: configure devices, cameras or an hj212 server',
      });
    }
    const ids = new Set<string>();
    [...c.devices.map((d) => d.id), ...c.cameras.map((d) => d.id)].forEach((id) => {
      if (ids.has(id)) ctx.addIssue({ code: 'custom', path: ['devices'], message: `id "${id}" is used twice` });
      ids.add(id);
    });
  });

export type EdgeConfig = z.output<typeof EdgeConfigSchema>;
export type DeviceConfig = z.output<typeof DeviceSchema>;

/** Reads the config file and applies MQTT_URL and EDGE_BUFFER_DIR from the environment. */
export function loadEdgeConfig(file: string, env: NodeJS.ProcessEnv = process.env): EdgeConfig {
  const raw = readJsonFile(file);
  if (typeof raw === 'object' && raw !== null) {
    const r = raw as Record<string, Record<string, unknown>>;
    if (env.MQTT_URL) r.mqtt = { ...(r.mqtt ?? {}), url: env.MQTT_URL };
    if (env.EDGE_BUFFER_DIR) r.buffer = { ...(r.buffer ?? {}), dir: env.EDGE_BUFFER_DIR };
  }
  return parseConfig(EdgeConfigSchema, raw, file);
}
