// The notices over HTTP, for the console (reviewer, admin): the list with filters, one notice, and the violation
// counts per party. The party's phone is shown masked: the console needs to recognise a number, not to call it.
// An encapsulated plugin: `app.register(noticeRoutes, { notices, placesOf })`, with zod schemas on its routes (api/schemas.ts).
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { described, Failure, useZodSchemas } from '../api/schemas.js';
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
// What the answers hold, for the OpenAPI document (answers are sent as built: api/schemas.ts).
const NoticeView = z.looseObject({
  eventId: z.string(),
  eventType: z.enum(EVENT_TYPES),
  code: z.string(),
  party: z.looseObject({ phone: z.string().optional().describe('masked') }).nullable(),
  status: z.enum(NOTICE_STATUSES),
  reason: z.string(),
  recheckAt: z.number().optional().describe('epoch ms'),
  caseId: z.string().optional(),
  createdAt: z.number().describe('epoch ms'),
});

/** A notice as the API shows it: the party's phone masked. */
export function viewNotice(n: Notice): Notice {
  return n.party?.phone ? { ...n, party: { ...n.party, phone: maskPhone(n.party.phone) } } : n;
}

/** What GET /api/events shows of an event's notice. */
export function noticeSummary(n: Notice): {
  status: Notice['status'];
  reason: Notice['reason'];
  recheckAt?: number;
  caseId?: string;
} {
  return {
    status: n.status,
    reason: n.reason,
    ...(n.recheckAt !== undefined ? { recheckAt: n.recheckAt } : {}),
    ...(n.caseId ? { caseId: n.caseId } : {}),
  };
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

type EventPlaceSource = (
  ids: readonly string[],
) => Promise<Map<string, { event: { camera: { postedLocation: string }; zone: { name: string } } }>>;

/**
 * The places from the notices' events, as the events recorded them (the camera's published location and the zone's
 * name at the time), so a camera since moved or removed from the registry still shows where it was. One read of
 * the event store per page.
 */
export function placesFromEvents(getMany: EventPlaceSource): PlacesOf {
  return async (ids) => {
    const events = await getMany(ids);
    return new Map(
      [...events].map(([id, s]) => [
        id,
        { postedLocation: s.event.camera.postedLocation, zoneName: s.event.zone.name },
      ]),
    );
  };
}

/** GET /api/notices, GET /api/notices/:eventId, GET /api/parties: `app.register(noticeRoutes, { notices, placesOf })`. */
export const noticeRoutes: FastifyPluginAsyncZod<NoticeRoutesOptions> = async (app, o) => {
  // An issue about the input as a whole (an unknown key) is named "body", as before the schemas (also for queries).
  useZodSchemas(app, 'body');
  const tags = ['notices'];
  const read = { preHandler: requireRole(...NOTICE_ROLES) };
  const NoticeList = z.object({
    items: z.array(
      NoticeView.extend({ place: z.object({ postedLocation: z.string(), zoneName: z.string() }).optional() }),
    ),
    total: z.number().int(),
  });
  app.get(
    '/api/notices',
    {
      ...read,
      schema: {
        tags,
        summary: 'Notices to parties, with the place of their event; phones masked',
        querystring: ListQuery,
        response: { 200: NoticeList, 400: Failure },
      },
    },
    async (req) => {
      const r = await o.notices.list(req.query);
      const places = (await o.placesOf?.(r.items.map((n) => n.eventId))) ?? new Map<string, NoticePlace>();
      const items = r.items.map((n) => {
        const place = places.get(n.eventId);
        return { ...viewNotice(n), ...(place ? { place } : {}) };
      });
      return described(NoticeList, { items, total: r.total });
    },
  );

  app.get(
    '/api/notices/:eventId',
    {
      ...read,
      schema: {
        tags,
        summary: "One event's notice; phone masked",
        params: Params,
        response: { 200: NoticeView, 400: Failure, 404: Failure },
      },
    },
    async (req, reply) => {
      const n = await o.notices.get(req.params.eventId);
      if (!n) return reply.code(404).send({ error: 'not_found', message: `no notice for event ${req.params.eventId}` });
      return described(NoticeView, viewNotice(n));
    },
  );

  const Counts = z.looseObject({
    items: z.array(
      z.looseObject({
        id: z.string(),
        kind: z.string(),
        name: z.string(),
        counts: z.record(z.string(), z.number().int()),
        lastAt: z.number().nullable(),
      }),
    ),
  });
  app.get(
    '/api/parties',
    {
      ...read,
      schema: {
        tags,
        summary: 'Registered parties with their violations per type in the leniency window',
        querystring: z.strictObject({}),
        response: { 200: Counts, 400: Failure },
      },
    },
    async () => described(Counts, await o.notices.partyCounts()),
  );
};
