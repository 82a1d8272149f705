// A message that could not be accepted. Kept with its raw payload so that nothing a device sent is lost, and the
// reason tells the installer what to fix.
import { z } from 'zod';
export interface DeadLetter {
  topic: string;
  reason: string;
  receivedAt: number;
  /** Raw payload bytes as received, or only their first bytes when payloadBytes says there were more. */
  payload: Buffer;
  /** Size of the payload as received, when `payload` keeps only its first bytes (an oversized MQTT message). */
  payloadBytes?: number;
}

/** How a dead letter is shown over the API: payload as UTF-8 when it is text, base64 otherwise. */
export interface DeadLetterView {
  topic: string;
  reason: string;
  receivedAt: string;
  payload: string;
  payloadEncoding: 'utf8' | 'base64';
  /** The size as received: more than `payload` holds when only its first bytes were kept. */
  payloadBytes: number;
}

/**
 * Dead letters found at the edge (an HJ 212 frame with a bad CRC, a carrier push that is not JSON) travel to the
 * platform's dead-letter store like readings do: buffered on disk, then published with QoS 1 on this topic.
 */
export function gatewayDeadLettersTopic(gatewayId: string): string {
  return `city/v1/_gateway/${gatewayId}/dead-letters`;
}

export const GATEWAY_DEAD_LETTERS_FILTER = 'city/v1/_gateway/+/dead-letters';

export const GatewayDeadLetterSchema = z.strictObject({
  /** Where it came from, e.g. "hj212://10.0.0.7:51234" or "nbiot:ctwing". */
  source: z.string().min(1).max(256),
  reason: z.string().min(1).max(2000),
  receivedAt: z.number().int(),
  /** The raw bytes as received, base64. */
  payload: z.string(),
});

export type GatewayDeadLetter = z.infer<typeof GatewayDeadLetterSchema>;
