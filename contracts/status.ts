// Device status: retained on city/v1/{district}/{kind}/{deviceId}/status. The device's MQTT last will publishes
// {"online": false}, so a consumer always sees the last known state of every device.
import { z } from 'zod';

export const StatusSchema = z.looseObject({
  online: z.boolean(),
  ts: z.number().int().optional(),
  reason: z.string().optional(),
});

export type Status = z.infer<typeof StatusSchema>;
