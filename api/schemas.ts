// Route schemas: a feature's routes plugin declares zod schemas on its routes (params, querystring, body, response)
// and calls useZodSchemas(app) first. fastify validates the input with them before the handler, and @fastify/swagger
// (server.ts) turns them into /api/openapi.json, so the reference cannot drift from what the routes accept.
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import type { FastifyRouteSchemaDef } from 'fastify/types/schema.js';
import { validatorCompiler } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { apiErrorHandler, badRequest, schemaIssues } from './errors.js';

type Hook = (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
const hooks = (h: RouteOptions['preHandler']): Hook[] =>
  h === undefined ? [] : ((Array.isArray(h) ? h : [h]) as Hook[]);

/**
 * Validation by the routes' zod schemas in this (encapsulated) plugin, answers as built (describeOnly). A refused input answers
 * the API's 400 body (errors.ts) after the route's own preHandlers (a role check: 401/403 before 400, as when routes
 * parsed their input in the handler); `whole` names an issue about the input as a whole (an unknown key). A route
 * with a body schema reads a missing body as `{}`. Other errors go to `errorHandler`: the API's, unless the plugin
 * answers in its own form (the party's public page).
 */
export function useZodSchemas(
  app: FastifyInstance,
  whole: string,
  errorHandler: typeof apiErrorHandler = apiErrorHandler,
): void {
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(describeOnly);
  // Other errors (a malformed JSON body, a failure) get the API's answer: a child takes its parent's handler when it
  // is created, and api/server.ts sets the root's only after registering every plugin.
  app.setErrorHandler(errorHandler);
  const refuse: Hook = async (req, reply) => {
    const err = req.validationError;
    if (err) return reply.code(400).send(badRequest({ issues: schemaIssues(err.validation ?? []) }, whole));
  };
  const emptyBody: Hook = async (req) => {
    req.body ??= {};
  };
  app.addHook('onRoute', (route) => {
    if (!route.schema) return;
    route.attachValidation = true;
    route.preHandler = [...hooks(route.preHandler), refuse];
    // A body its handler checks (bodyCheckedByHandler) reaches the handler as sent, missing or not.
    if (route.schema.body && route.validatorCompiler !== bodyCheckedByHandler.validatorCompiler)
      route.preValidation = [emptyBody, ...hooks(route.preValidation)];
  });
}

/** The API's error body (errors.ts), as the routes' response schemas name it. */
export const Failure = z.object({ error: z.string(), message: z.string() });

/**
 * Response schemas describe the answer in /api/openapi.json; the answer itself is sent as the route built it
 * (JSON.stringify, as fastify does for a route without one): a zod serialiser would reorder keys and drop the ones
 * a schema does not name, and a mismatch would turn an answer into a 500.
 */
export const describeOnly = () => (data: unknown) => {
  // fastify's last-resort error answer comes here too when its status has a schema: the fields, in the order, that
  // fastify's own error serialiser writes.
  if (data instanceof Error) {
    const e = data as Error & { statusCode?: number; code?: string; error?: string };
    return JSON.stringify({ statusCode: e.statusCode, code: e.code, error: e.error, message: e.message });
  }
  return JSON.stringify(data);
};

/**
 * An answer built as a plain record or a TypeScript interface (no index signature), typed as what its loose response
 * schema describes. Only the type changes: the answer is sent as built.
 */
export const described = <S extends z.ZodType>(_schema: S, answer: unknown): z.input<S> => answer as z.input<S>;

/** What a route sends as a file or page: text, bytes or a stream, never serialised (fastify sends them as they are). */
const Content = z.custom<string | Buffer | NodeJS.ReadableStream>(() => true);

/**
 * A response that is not JSON (a file, a page, a stylesheet), described in the OpenAPI document by the content types
 * the route really sends: text as a string, anything else as binary.
 */
export function contentAnswer(description: string, ...types: string[]) {
  const text = (t: string) => t.startsWith('text/') || t.startsWith('image/svg');
  return {
    description,
    content: Object.fromEntries(
      types.map((t) => [
        t,
        { schema: Content.meta(text(t) ? { type: 'string' } : { type: 'string', format: 'binary' }) },
      ]),
    ),
  };
}

/**
 * An answer without a body (204, a redirect, 304): `type: 'null'` is what @fastify/swagger turns into a response with
 * no content, so the document does not promise JSON where nothing is sent. fastify-type-provider-zod writes z.undefined()
 * so (z.null() would become a nullable string in OpenAPI 3.0).
 */
export const noBody = (description: string) => z.undefined().describe(description);

/**
 * Route options for a route whose handler or service checks the body itself because its refusal says more than the
 * 400 above (every issue with its path, for the form that marks it; a page's own bilingual message): the body schema
 * describes the body in the document and is not applied here, so the handler gets the body as sent, undefined when
 * there is none (pass it on as `unknown`). Params and query are validated by their schemas as on any route.
 */
export const bodyCheckedByHandler = {
  // fastify types `def.schema` as the route's whole schema; it holds the one part being compiled.
  validatorCompiler: <S>(def: FastifyRouteSchemaDef<S>) =>
    def.httpPart === 'body'
      ? (body: unknown) => ({ value: body })
      : validatorCompiler(def as unknown as FastifyRouteSchemaDef<z.ZodType>),
};
