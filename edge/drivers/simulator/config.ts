import { z } from 'zod';
import { TimestampSchema } from '../../../contracts/index.js';

export const SimulatorDriverSchema = z.strictObject({
  type: z.literal('simulator'),
  seed: z.number().int().default(1),
  /** Time between readings of the device. */
  intervalMs: z.number().int().min(10).default(10_000),
  /**
   * A virtual clock: readings are stamped start, start+interval, ... and one is produced every emitEveryMs of
   * wall time. Without it, readings are stamped with the wall clock.
   */
  start: TimestampSchema.optional(),
  emitEveryMs: z.number().int().min(1).optional(),
  /** Stop after this many readings (virtual clock only). */
  count: z.number().int().min(1).optional(),
  /** After a restart on the wall clock, fill gaps up to this far back from the local log. */
  backfillMs: z.number().int().min(0).default(3_600_000),
  /** One incident of the device's first kind at this time (the embedded demo's early alert). */
  demoIncident: z.strictObject({ start: z.number().int(), durationMs: z.number().int().min(1000) }).optional(),
  /** Append the incidents the simulator injects to this JSON-lines file. */
  groundTruth: z.string().optional(),
});

export type SimulatorDriverConfig = z.output<typeof SimulatorDriverSchema>;
