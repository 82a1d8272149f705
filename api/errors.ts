// The API's error bodies. A zod refusal answers 400 `{"error":"bad_request","message":...}` naming each wrong field,
// so a client sees what to fix without reading the code.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
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

/**
 * The API's answer to an error a route did not answer itself (a malformed JSON body, a failure): 4xx as
 * `bad_request`, 5xx as `internal`, logged. Set on the API's root instance and on each feature's routes plugin.
 */
export function apiErrorHandler(err: FastifyError, req: FastifyRequest, reply: FastifyReply) {
  const status = err.statusCode ?? 500;
  if (status >= 500) req.log.error({ err }, 'request failed');
  return reply.code(status).send({ error: status >= 500 ? 'internal' : 'bad_request', message: err.message });
}
