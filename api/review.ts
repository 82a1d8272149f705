// Review decisions over HTTP: POST /api/events/{id}/review. The decision is attributed to the signed-in user that
// the auth plugin's guard put on the request (`req.user`); a name in the body is never taken.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ReviewError, ReviewInputSchema, viewEvent, type ReviewService } from '../review/decisions.js';
import type { EventAnnotator } from './events.js';

/** The session user as the auth plugin decorates the request with it. */
export interface SessionUser {
  id?: string | number;
  username: string;
  role: string;
  displayName?: string;
}

export function sessionUser(req: FastifyRequest): SessionUser | null {
  const u = (req as FastifyRequest & { user?: unknown }).user as Partial<SessionUser> | null | undefined;
  return u && typeof u.username === 'string' && typeof u.role === 'string' ? (u as SessionUser) : null;
}

/**
 * The route's own check, beside the global guard: no session → 401, a role not in `roles` → 403. Returns the user,
 * or null after answering.
 */
export function requireUser(req: FastifyRequest, reply: FastifyReply, roles: readonly string[]): SessionUser | null {
  const u = sessionUser(req);
  if (!u) {
    void reply.code(401).send({ error: 'unauthorized' });
    return null;
  }
  if (!roles.includes(u.role)) {
    void reply.code(403).send({ error: 'forbidden' });
    return null;
  }
  return u;
}

export const badRequest = (e: z.ZodError) => ({
  error: 'bad_request',
  message: e.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '),
});

const Params = z.strictObject({ id: z.string().min(1).max(200) });

/** Roles that may decide on events. */
export const REVIEW_ROLES = ['reviewer', 'admin'] as const;

export async function reviewRoutes(app: FastifyInstance, o: { review: ReviewService; annotate?: EventAnnotator }): Promise<void> {
  app.post('/api/events/:id/review', async (req, reply) => {
    const user = requireUser(req, reply, REVIEW_ROLES);
    if (!user) return reply;
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
