// The review queue's read side: enforcement events by status (oldest first) and their evidence images by SHA-256.
// Deciding (confirm/reject) and sessions come with the console.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { EVENT_TYPES } from '../contracts/index.js';
import { EvidenceIntegrityError, type EvidenceStore } from '../vision/evidence/store.js';
import { viewEvent } from '../review/decisions.js';
import type { EventStore, StoredEvent } from '../review/store.js';

const EventsQuery = z.strictObject({
  status: z.enum(['pending', 'confirmed', 'rejected']).optional(),
  camera: z.string().min(1).max(64).optional(),
  type: z.enum(EVENT_TYPES).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  offset: z.coerce.number().int().min(0).default(0),
});

/** Extra fields for an event in the queue (the notify loop adds the party preview and the notice's status). */
export type EventAnnotator = (s: StoredEvent) => Promise<Record<string, unknown>>;

/** JPEG unless the bytes say PNG or WebP (a party's statement photos share the evidence store). */
function imageType(data: Buffer): string {
  if (data.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'image/png';
  if (data.subarray(0, 4).toString('latin1') === 'RIFF' && data.subarray(8, 12).toString('latin1') === 'WEBP') return 'image/webp';
  return 'image/jpeg';
}

export function eventRoutes(app: FastifyInstance, o: { events: EventStore; evidence: EvidenceStore; annotate?: EventAnnotator }): void {
  const view = async (s: StoredEvent) => (o.annotate ? { ...viewEvent(s), ...(await o.annotate(s)) } : viewEvent(s));
  app.get('/api/events', async (req, reply) => {
    const q = EventsQuery.safeParse(req.query);
    if (!q.success) {
      return reply.code(400).send({ error: 'bad_request', message: q.error.issues.map((i) => `${i.path.join('.') || 'query'}: ${i.message}`).join('; ') });
    }
    const res = await o.events.list({ status: q.data.status, cameraId: q.data.camera, type: q.data.type, limit: q.data.limit, offset: q.data.offset });
    return { items: await Promise.all(res.items.map(view)), total: res.total };
  });

  app.get('/api/events/:id', async (req, reply) => {
    const { id } = req.params as { id: string };
    const e = await o.events.get(id);
    if (!e) return reply.code(404).send({ error: 'not_found', message: `no event ${id}` });
    return view(e);
  });

  app.get('/api/evidence/:sha', async (req, reply) => {
    const sha = (req.params as { sha: string }).sha.replace(/\.jpg$/, '');
    if (!/^[0-9a-f]{64}$/.test(sha)) return reply.code(400).send({ error: 'bad_request', message: 'evidence is addressed by its SHA-256 (64 hex digits)' });
    let data: Buffer | null;
    try {
      data = await o.evidence.getVerified(sha);
    } catch (e) {
      if (!(e instanceof EvidenceIntegrityError)) throw e;
      req.log.error({ sha256: sha, actual: e.actual }, 'evidence file altered on disk: refused, not served');
      return reply.code(500).send({ error: 'evidence_altered', message: `evidence ${sha} no longer matches its SHA-256; it is not served` });
    }
    if (!data) return reply.code(404).send({ error: 'not_found', message: `no evidence ${sha}` });
    // Content-addressed: the bytes behind a name never change. Private: an enforcement photo (a plate, a shop, a
    // face) must not be kept by a shared cache between the reviewer and the platform.
    reply.header('cache-control', 'private, max-age=31536000, immutable');
    reply.header('x-content-type-options', 'nosniff');
    reply.header('content-type', imageType(data));
    return reply.send(data);
  });
}
