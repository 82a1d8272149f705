// The API's error bodies. A zod refusal answers 400 `{"error":"bad_request","message":...}` naming each wrong field,
// so a client sees what to fix without reading the code.
import type { z } from 'zod';

type Issue = { path: readonly PropertyKey[]; message: string };

/** The 400 body for a refused input; `whole` names an issue about the input as a whole (an unknown key). */
export function badRequest(e: z.ZodError | { issues: readonly Issue[] }, whole = 'body'): { error: 'bad_request'; message: string } {
  return { error: 'bad_request', message: e.issues.map((i) => `${i.path.map(String).join('.') || whole}: ${i.message}`).join('; ') };
}

/**
 * The issues of a route schema's refusal (fastify-type-provider-zod puts zod's issues on `validation`, each with its
 * path as `/a/b`), back in zod's form, so the body is the one an inline `safeParse` gave.
 */
export function schemaIssues(validation: readonly { instancePath: string; message?: string }[]): Issue[] {
  return validation.map((v) => ({ path: v.instancePath.split('/').filter((s) => s !== ''), message: v.message ?? 'invalid' }));
}
