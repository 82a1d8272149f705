// The API's error bodies. A zod refusal answers 400 `{"error":"bad_request","message":...}` naming each wrong field,
// so a client sees what to fix without reading the code.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';

type Issue = { path: readonly PropertyKey[]; message: string };

/** The 400 body for a refused input; `whole` names an issue about the input as a whole (an unknown key). */
export function badRequest(
  e: z.ZodError | { issues: readonly Issue[] },
  whole = 'body',
): { error: 'bad_request'; message: string } {
  return {
    error: 'bad_request',
    message: e.issues.map((i) => `${i.path.map(String).join('.') || whole}: ${i.message}`).join('; '),
  };
}

/**
 * The issues of a route schema's refusal (fastify-type-provider-zod puts zod's issues on `validation`, each with its
 * path as `/a/b`), back in zod's form, so the body is the one an inline `safeParse` gave.
 */
export function schemaIssues(validation: readonly { instancePath: string; message?: string }[]): Issue[] {
  return validation.map((v) => ({
    path: v.instancePath.split('/').filter((s) => s !== ''),
    message: v.message ?? 'invalid',
  }));
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

/**
 * The longest path parameter the router passes on to a route (fastify's `maxParamLength`, 100 by default): above
 * every bound a route schema sets (a review's event id: 200), so the route's schema judges the parameter and names
 * it. A URL is bounded anyway by Node's 16 KiB header limit.
 */
export const MAX_PARAM_LENGTH = 2048;

/**
 * The router's own refusals (fastify's `frameworkErrors`: a path parameter over MAX_PARAM_LENGTH, a malformed
 * percent-escape) as the API's 400 body, instead of fastify's 414 / 400 with its own fields, which no route documents.
 */
export function apiFrameworkErrors(err: FastifyError, _req: FastifyRequest, reply: FastifyReply) {
  const message =
    err.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? `path: a parameter longer than ${MAX_PARAM_LENGTH} characters`
      : `path: ${err.message}`;
  return reply.code(400).send({ error: 'bad_request', message });
}
