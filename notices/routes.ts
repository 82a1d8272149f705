// The notices over HTTP, for the console (reviewer, admin): the list with filters, one notice, and the violation
// counts per party. The party's phone is shown masked: the console needs to recognise a number, not to call it.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { badRequest } from '../api/errors.js';
import { EVENT_TYPES } from '../contracts/index.js';
import { requireRole } from '../users/guard.js';
import type { Role } from '../users/types.js';
import { maskPhone } from './parties.js';
import type { NoticeService } from './service.js';
import { NOTICE_STATUSES, type Notice } from './types.js';

/** Roles that may read notices and party counts. */
export const NOTICE_ROLES: readonly Role[] = ['reviewer', 'admin'];

const ListQuery = z.strictObject({
  status: z.enum(NOTICE_STATUSES).optional(),
  type: z.enum(EVENT_TYPES).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  offset: z.coerce.number().int().min(0).default(0),
});
const Params = z.strictObject({ eventId: z.string().min(1).max(200) });

/** A notice as the API shows it: the party's phone masked. */
export function viewNotice(n: Notice): Notice {
  return n.party?.phone ? { ...n, party: { ...n.party, phone: maskPhone(n.party.phone) } } : n;
}

/** What GET /api/events shows of an event's notice. */
export function noticeSummary(n: Notice): { status: Notice['status']; reason: Notice['reason']; recheckAt?: number; caseId?: string } {
  return { status: n.status, reason: n.reason, ...(n.recheckAt !== undefined ? { recheckAt: n.recheckAt } : {}), ...(n.caseId ? { caseId: n.caseId } : {}) };
}

/** Where notices' events happened, as published, by event id: the list shows places, not ids. */
export type PlacesOf = (eventIds: readonly string[]) => Promise<Map<string, NoticePlace>>;
export interface NoticePlace {
  postedLocation: string;
  zoneName: string;
}

export interface NoticeRoutesOptions {
  notices: Pick<NoticeService, 'list' | 'get' | 'partyCounts'>;
  placesOf?: PlacesOf;
}

type EventPlaceSource = (ids: readonly string[]) => Promise<Map<string, { event: { camera: { postedLocation: string }; zone: { name: string } } }>>;

/**
 * The places from the notices' events, as the events recorded them (the camera's published location and the zone's
 * name at the time), so a camera since moved or removed from the registry still shows where it was. One read of
 * the event store per page.
 */
export function placesFromEvents(getMany: EventPlaceSource): PlacesOf {
  return async (ids) => {
    const events = await getMany(ids);
    return new Map([...events].map(([id, s]) => [id, { postedLocation: s.event.camera.postedLocation, zoneName: s.event.zone.name }]));
  };
}

/** GET /api/notices, GET /api/notices/:eventId, GET /api/parties. */
export async function noticeRoutes(app: FastifyInstance, o: NoticeRoutesOptions): Promise<void> {
  const read = { preHandler: requireRole(...NOTICE_ROLES) };
  app.get('/api/notices', read, async (req, reply) => {
    const q = ListQuery.safeParse(req.query ?? {});
    if (!q.success) return reply.code(400).send(badRequest(q.error));
    const r = await o.notices.list(q.data);
    const places = (await o.placesOf?.(r.items.map((n) => n.eventId))) ?? new Map<string, NoticePlace>();
    const items = r.items.map((n) => {
      const place = places.get(n.eventId);
      return { ...viewNotice(n), ...(place ? { place } : {}) };
    });
    return { items, total: r.total };
  });

  app.get('/api/notices/:eventId', read, async (req, reply) => {
    const p = Params.safeParse(req.params);
    if (!p.success) return reply.code(400).send(badRequest(p.error));
    const n = await o.notices.get(p.data.eventId);
    if (!n) return reply.code(404).send({ error: 'not_found', message: `no notice for event ${p.data.eventId}` });
    return viewNotice(n);
  });

  app.get('/api/parties', read, async (req, reply) => {
    const q = z.strictObject({}).safeParse(req.query ?? {});
    if (!q.success) return reply.code(400).send(badRequest(q.error));
    return o.notices.partyCounts();
  });
}
