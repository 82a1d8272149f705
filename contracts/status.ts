// Device status: retained on city/v1/{district}/{kind}/{deviceId}/status. The device's MQTT last will publishes
// {"online": false}, so a consumer always sees the last known state of every device.
import { z } from 'zod';

export const StatusSchema = z.looseObject({
  online: z.boolean(),
  ts: z.number().int().optional(),
  reason: z.string().optional(),
});

export type Status = z.infer<typeof StatusSchema>;

/**
 * A device's status change as ingest passes it on, on bus topic `status` (keyed by device), for the sensor-health
 * detectors: the retained status with where it came from and when ingest received it.
 */
export interface StatusChange {
  district: string;
  kind: string;
  deviceId: string;
  online: boolean;
  reason?: string;
  receivedAt: number;
}

/** What the detectors accept on `status`: a StatusChange; anything else is dead-lettered rather than retried for ever. */
export const StatusChangeSchema = z.looseObject({
  district: z.string(),
  kind: z.string(),
  deviceId: z.string().min(1),
  online: z.boolean(),
  reason: z.string().optional(),
  receivedAt: z.number(),
}) satisfies z.ZodType<StatusChange>;
