// Review decisions over HTTP: POST /api/events/{id}/review. The decision is attributed to the signed-in user that
// the auth plugin's guard put on the request (`req.user`); a name in the body is never taken.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ReviewError, ReviewInputSchema, viewEvent, type ReviewService } from '../review/decisions.js';
import { requireRole } from '../users/guard.js';
import type { Role } from '../users/types.js';
import { badRequest } from './errors.js';
import type { EventAnnotator } from './events.js';

const Params = z.strictObject({ id: z.string().min(1).max(200) });

/** Roles that may decide on events. */
export const REVIEW_ROLES: readonly Role[] = ['reviewer', 'admin'];

export async function reviewRoutes(app: FastifyInstance, o: { review: ReviewService; annotate?: EventAnnotator }): Promise<void> {
  app.post('/api/events/:id/review', { preHandler: requireRole(...REVIEW_ROLES) }, async (req, reply) => {
    const user = req.user!; // requireRole let only a signed-in user through
    const p = Params.safeParse(req.params);
    if (!p.success) return reply.code(400).send(badRequest(p.error));
    const b = ReviewInputSchema.safeParse(req.body ?? {});
    if (!b.success) return reply.code(400).send(badRequest(b.error));
    try {
      const stored = await o.review.review(p.data.id, b.data, user);
      // With the notify loop: what the confirmation led to (told the party, or a case at once).
      return o.annotate ? { ...viewEvent(stored), ...(await o.annotate(stored)) } : viewEvent(stored);
    } catch (e) {
      if (e instanceof ReviewError) {
        return reply
          .code(e.status)
          .send({ error: e.status === 404 ? 'not_found' : 'conflict', message: e.message, ...(e.stored ? { event: viewEvent(e.stored) } : {}) });
      }
      throw e;
    }
  });
}
