// A message that could not be accepted. Kept with its raw payload so that nothing a device sent is lost, and the
// reason tells the installer what to fix.
export interface DeadLetter {
  topic: string;
  reason: string;
  receivedAt: number;
  /** Raw payload bytes as received. */
  payload: Buffer;
}

/** How a dead letter is shown over the API: payload as UTF-8 when it is text, base64 otherwise. */
export interface DeadLetterView {
  topic: string;
  reason: string;
  receivedAt: string;
  payload: string;
  payloadEncoding: 'utf8' | 'base64';
  payloadBytes: number;
}
