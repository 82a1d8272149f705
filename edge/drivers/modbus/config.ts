// Modbus gauge driver configuration: where the gauge is (TCP, or RTU on a serial line), how often to poll, and the
// register map that turns 16-bit words into the metrics of the contract.
import { z } from 'zod';
import { metricNames, type SensorKind } from '../../../contracts/index.js';
import { ConfigError } from '../../../runtime/config.js';

const UnitId = z.number().int().min(0).max(255).default(1);

export const ModbusTcpSchema = z.strictObject({
  kind: z.literal('tcp'),
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535).default(502),
  unitId: UnitId,
});

export const ModbusRtuSchema = z.strictObject({
  kind: z.literal('rtu'),
  /** Serial device, e.g. /dev/ttyUSB0 or /dev/ttyS1. */
  path: z.string().min(1),
  baudRate: z.number().int().positive().default(9600),
  parity: z.enum(['none', 'even', 'odd']).default('none'),
  dataBits: z.union([z.literal(7), z.literal(8)]).default(8),
  stopBits: z.union([z.literal(1), z.literal(2)]).default(1),
  unitId: UnitId,
});

export const REGISTER_TYPES = ['int16', 'uint16', 'int32', 'uint32', 'float32'] as const;
export type RegisterType = (typeof REGISTER_TYPES)[number];

/** Words a value of the type occupies. */
export const WORDS: Record<RegisterType, 1 | 2> = { int16: 1, uint16: 1, int32: 2, uint32: 2, float32: 2 };

export const RegisterSchema = z.strictObject({
  metric: z.string().min(1).max(64),
  /** Zero-based register address as sent on the wire (the "40001" of a manual is address 0 of the holding table). */
  address: z.number().int().min(0).max(65535),
  table: z.enum(['holding', 'input']).default('holding'),
  type: z.enum(REGISTER_TYPES).default('uint16'),
  /** For 32-bit values: "big" = high word first (the Modbus habit), "little" = low word first. */
  wordOrder: z.enum(['big', 'little']).default('big'),
  /** value = raw * scale + offset */
  scale: z.number().refine(Number.isFinite, 'scale must be a finite number').default(1),
  offset: z.number().refine(Number.isFinite, 'offset must be a finite number').default(0),
});

export const ModbusDriverSchema = z
  .strictObject({
    type: z.literal('modbus'),
    transport: z.discriminatedUnion('kind', [ModbusTcpSchema, ModbusRtuSchema]),
    pollMs: z.number().int().min(100).default(10_000),
    /** How long to wait for one answer. */
    timeoutMs: z.number().int().min(10).max(60_000).default(1000),
    /** Further attempts of a request that failed before the poll counts as missed. */
    retries: z.number().int().min(0).max(10).default(2),
    /** How long a TCP connect may take before the attempt fails. */
    connectTimeoutMs: z.number().int().min(100).max(60_000).default(3000),
    /** Reconnect backoff after a lost or refused connection: doubles from pollMs up to this. */
    reconnectMaxMs: z.number().int().min(100).default(60_000),
    /**
     * Registers at most this many words apart are read in one request (the words between are read and dropped).
     * 0 reads only contiguous registers together: some gauges refuse a request that touches an unmapped address.
     */
    maxGapWords: z.number().int().min(0).max(100).default(0),
    registers: z.array(RegisterSchema).min(1, 'at least one register is needed'),
  })
  .superRefine((cfg, ctx) => {
    const seen = new Set<string>();
    cfg.registers.forEach((r, i) => {
      if (seen.has(r.metric))
        ctx.addIssue({
          code: 'custom',
          path: ['registers', i, 'metric'],
          message: `metric "${r.metric}" is mapped twice`,
        });
      seen.add(r.metric);
      if (r.address + WORDS[r.type] - 1 > 65535) {
        ctx.addIssue({
          code: 'custom',
          path: ['registers', i, 'address'],
          message: `a ${r.type} at ${r.address} runs past register 65535`,
        });
      }
    });
  });

export type ModbusDriverConfig = z.output<typeof ModbusDriverSchema>;
export type RegisterConfig = ModbusDriverConfig['registers'][number];

/** Refuses a register map whose metrics do not belong to the device's kind (they would be dead-lettered by ingest). */
export function checkModbusMetrics(deviceId: string, kind: SensorKind, cfg: ModbusDriverConfig): void {
  const known = metricNames(kind);
  for (const r of cfg.registers) {
    if (!known.has(r.metric)) {
      throw new ConfigError(
        `device ${deviceId}: modbus register ${r.address} maps to metric "${r.metric}", which a ${kind} device does not have ` +
          `(known: ${[...known].join(', ')})`,
      );
    }
  }
}
