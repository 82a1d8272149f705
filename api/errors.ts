// The API's error bodies. A zod refusal answers 400 `{"error":"bad_request","message":...}` naming each wrong field,
// so a client sees what to fix without reading the code.
import type { z } from 'zod';

/** The 400 body for a refused input; `whole` names an issue about the input as a whole (an unknown key). */
export function badRequest(e: z.ZodError, whole = 'body'): { error: 'bad_request'; message: string } {
  return { error: 'bad_request', message: e.issues.map((i) => `${i.path.join('.') || whole}: ${i.message}`).join('; ') };
}
