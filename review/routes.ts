// The review queue over HTTP, as two encapsulated plugins with zod schemas on their routes:
// - eventRoutes, the read side: enforcement events by status (oldest first) and their evidence images by SHA-256,
//   served by the process that keeps the queue (api/server.ts registers it);
// - reviewRoutes, the decisions: POST /api/events/{id}/review, attributed to the signed-in user that the auth
//   plugin's guard put on the request (`req.user`); a name in the body is never taken.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { described, Failure, useZodSchemas } from '../api/schemas.js';
import { EVENT_TYPES } from '../contracts/index.js';
import { requireRole } from '../users/guard.js';
import type { Role } from '../users/types.js';
import { EvidenceIntegrityError, type EvidenceStore } from '../vision/evidence/store.js';
import { ReviewError, ReviewInputSchema, viewEvent, type ReviewService } from './decisions.js';
import type { EventStore, StoredEvent } from './store.js';

const EventsQuery = z.strictObject({
  status: z.enum(['pending', 'confirmed', 'rejected']).optional(),
  camera: z.string().min(1).max(64).optional(),
  type: z.enum(EVENT_TYPES).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  offset: z.coerce.number().int().min(0).default(0),
});

// What the answers hold, for the OpenAPI document (answers are sent as built: api/schemas.ts).
const EventView = z.looseObject({
  id: z.string(),
  type: z.enum(EVENT_TYPES),
  status: z.enum(['pending', 'confirmed', 'rejected']),
  receivedAt: z.number().describe('epoch ms'),
});
const tags = ['review'];

/** Extra fields for an event in the queue (the notify loop adds the party preview and the notice's status). */
export type EventAnnotator = (s: StoredEvent) => Promise<Record<string, unknown>>;

/** JPEG unless the bytes say PNG or WebP (a party's statement photos share the evidence store). */
function imageType(data: Buffer): string {
  if (data.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'image/png';
  if (data.subarray(0, 4).toString('latin1') === 'RIFF' && data.subarray(8, 12).toString('latin1') === 'WEBP')
    return 'image/webp';
  return 'image/jpeg';
}

export interface EventRoutesOptions {
  events: EventStore;
  evidence: EvidenceStore;
  annotate?: EventAnnotator;
}

export const eventRoutes: FastifyPluginAsyncZod<EventRoutesOptions> = async (app, o) => {
  useZodSchemas(app, 'query');
  const view = async (s: StoredEvent) =>
    described(EventView, o.annotate ? { ...viewEvent(s), ...(await o.annotate(s)) } : viewEvent(s));
  app.get(
    '/api/events',
    {
      schema: {
        tags,
        summary: 'Enforcement events awaiting review, oldest first',
        querystring: EventsQuery,
        response: { 200: z.object({ items: z.array(EventView), total: z.number().int() }), 400: Failure },
      },
    },
    async (req) => {
      const q = req.query;
      const res = await o.events.list({
        status: q.status,
        cameraId: q.camera,
        type: q.type,
        limit: q.limit,
        offset: q.offset,
      });
      return { items: await Promise.all(res.items.map(view)), total: res.total };
    },
  );

  app.get(
    '/api/events/:id',
    {
      schema: {
        tags,
        summary: 'One event with its review status',
        params: z.object({ id: z.string() }),
        response: { 200: EventView, 400: Failure, 404: Failure },
      },
    },
    async (req, reply) => {
      const { id } = req.params;
      const e = await o.events.get(id);
      if (!e) return reply.code(404).send({ error: 'not_found', message: `no event ${id}` });
      return view(e);
    },
  );

  app.get(
    '/api/evidence/:sha',
    {
      schema: {
        tags,
        summary: 'An evidence image by its SHA-256 (`.jpg` may follow), checked before it is sent',
        params: z.object({ sha: z.string().describe('SHA-256, 64 hex digits, `.jpg` may follow') }),
        response: {
          200: z.unknown().describe('the image (image/jpeg, image/png or image/webp)'),
          400: Failure,
          404: Failure,
          500: Failure,
        },
      },
    },
    async (req, reply) => {
      const sha = req.params.sha.replace(/\.jpg$/, '');
      if (!/^[0-9a-f]{64}$/.test(sha))
        return reply
          .code(400)
          .send({ error: 'bad_request', message: 'evidence is addressed by its SHA-256 (64 hex digits)' });
      let data: Buffer | null;
      try {
        data = await o.evidence.getVerified(sha);
      } catch (e) {
        if (!(e instanceof EvidenceIntegrityError)) throw e;
        req.log.error({ sha256: sha, actual: e.actual }, 'evidence file altered on disk: refused, not served');
        return reply.code(500).send({
          error: 'evidence_altered',
          message: `evidence ${sha} no longer matches its SHA-256; it is not served`,
        });
      }
      if (!data) return reply.code(404).send({ error: 'not_found', message: `no evidence ${sha}` });
      // Content-addressed: the bytes behind a name never change. Private: an enforcement photo (a plate, a shop, a
      // face) must not be kept by a shared cache between the reviewer and the platform.
      reply.header('cache-control', 'private, max-age=31536000, immutable');
      reply.header('x-content-type-options', 'nosniff');
      reply.header('content-type', imageType(data));
      return reply.send(data);
    },
  );
};

const ReviewParams = z.strictObject({ id: z.string().min(1).max(200) });

/** Roles that may decide on events. */
export const REVIEW_ROLES: readonly Role[] = ['reviewer', 'admin'];

export interface ReviewRoutesOptions {
  review: ReviewService;
  annotate?: EventAnnotator;
}

export const reviewRoutes: FastifyPluginAsyncZod<ReviewRoutesOptions> = async (app, o) => {
  useZodSchemas(app, 'body');
  app.post(
    '/api/events/:id/review',
    {
      preHandler: requireRole(...REVIEW_ROLES),
      schema: {
        tags,
        summary: 'Confirm or reject an event, as the signed-in user',
        params: ReviewParams,
        body: ReviewInputSchema,
        response: { 200: EventView, 400: Failure, 404: Failure, 409: Failure.extend({ event: EventView.optional() }) },
      },
    },
    async (req, reply) => {
      const user = req.user!; // requireRole let only a signed-in user through
      try {
        const stored = await o.review.review(req.params.id, req.body, user);
        // With the notify loop: what the confirmation led to (told the party, or a case at once).
        return described(
          EventView,
          o.annotate ? { ...viewEvent(stored), ...(await o.annotate(stored)) } : viewEvent(stored),
        );
      } catch (e) {
        if (e instanceof ReviewError) {
          return reply.code(e.status).send({
            error: e.status === 404 ? 'not_found' : 'conflict',
            message: e.message,
            ...(e.stored ? { event: described(EventView, viewEvent(e.stored)) } : {}),
          });
        }
        throw e;
      }
    },
  );
};
