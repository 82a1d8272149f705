// The party's public routes (no login) and the reviewers' objection routes:
//   GET  /public/                                   the query page (code, or plate and day)
//   GET  /public/locations                          published monitoring locations (page, or JSON)
//   POST /public/lookup {plate, date, phone}         records of a plate on a local day whose notice went to that phone
//   GET  /public/records/:code                      the record (page, or JSON PublicRecord); 404 for any other string
//   GET  /public/records/:code/evidence/:sha256     an image of that record, and of no other
//   POST /public/records/:code/statements           a statement: multipart text, contact, up to 3 photos
//   GET  /public/assets/:name                       the page's script and stylesheet
//   GET  /api/objections, POST /api/objections/:id/handle   (reviewers; the /api guard checks the session and role)
// Every /public route is rate-limited per client; look-ups that find nothing are counted per client, answered late
// and, past a limit, refused (probe-guard.ts). A malformed code and an unknown one get the same answer.
// Zod schemas on every route (api/schemas.ts) describe them in /api/openapi.json; the public routes check their input
// in the handler (bodyCheckedByHandler), since a refusal there is the page's bilingual answer, or a miss like any other.
import { setTimeout as sleep } from 'node:timers/promises';
import multipart from '@fastify/multipart';
import rateLimit from '@fastify/rate-limit';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { Counter, Registry } from 'prom-client';
import { untrustedImage } from '../runtime/image.js';
import { z } from 'zod';
import type { CaseCodes } from '../cases/codes.js';
import type { Notice, RecordSource, Statement } from '../notices/types.js';
import type { StoredEvent } from '../review/store.js';
import type { Logger } from '../runtime/log.js';
// The route's own role check; importing users/ also brings the type of `req.user`, set by the platform's /api guard.
import { requireRole } from '../users/guard.js';
import type { CameraRegistry } from '../vision/cameras/config.js';
import { EvidenceIntegrityError, EvidenceStore } from '../vision/evidence/store.js';
import { isPlateText, normalisePlateText } from '../vision/ocr/plate-text.js';
import { PhoneSchema } from '../notices/parties.js';
import fs from 'node:fs';
import { PAGE_CSP, sendAsset } from '../api/assets.js';
import { bodyCheckedByHandler, contentAnswer, described, Failure, noBody, useZodSchemas } from '../api/schemas.js';
import { defaultPartyAssetsDir, loadPartyAssets, SOURCE_ARCHIVE_PATH, type PageState } from './assets.js';
import { sourceArchive } from './source.js';
import { formatQueryCode, normaliseQueryCode } from './code.js';
import { loadLegalTexts, partyLimits, type LegalTexts, type PartyLimitsInput } from './config.js';
import { LogThrottle, ProbeGuard } from './probe-guard.js';
import { localDay } from '../runtime/time.js';
import { buildPublicRecord, publicLocations, recordImages } from './record.js';
import type { CapReason, StatementStore } from './statements.js';

export interface PartyRoutesOptions {
  records: RecordSource;
  statements: StatementStore;
  evidence: EvidenceStore;
  /** The camera registry, or a function returning the current one (the platform adds simulated cameras to it). */
  cameras: CameraRegistry | (() => CameraRegistry);
  /** Days a location must be published before the camera enforces (notices config `publicationDays`). */
  publicationDays: number;
  /** The city's IANA time zone: local days for the plate look-up and the locations list. */
  timeZone: string;
  logger: Logger;
  /** Prometheus registry for party_* metrics; a private one when absent. */
  registry?: Registry;
  limits?: PartyLimitsInput;
  /** The legal texts (config/legal-basis.json, LEGAL_BASIS_FILE); the shipped file when absent. */
  texts?: LegalTexts;
  /** The city's classification table, to show the event's category code; none when absent. */
  caseCodes?: CaseCodes;
  /** The page's files; party/public when absent. */
  assetsDir?: string;
  /** Where the operator publishes the source it runs (SOURCE_URL); else the platform serves its own archive. */
  sourceUrl?: string;
  now?: () => number;
}

// ---- answers ---------------------------------------------------------------------------------------------------

type Msg = { status: number; zh: string; en: string };

const MESSAGES = {
  not_found: {
    status: 404,
    zh: '未找到该查询码对应的记录，请核对后重试',
    en: 'No record for this query code; please check it and try again',
  },
  lookup_not_found: {
    status: 404,
    zh: '未找到该车牌在该日期、发往该手机号的记录，请核对车牌号、日期和手机号',
    en: 'No record for this plate on this day notified to this mobile number; please check the plate, the date and the number',
  },
  lookup_disabled: {
    status: 404,
    zh: '本市不提供按车牌查询，请使用短信中的查询码',
    en: 'Look-up by plate is not offered here; please use the query code from the SMS',
  },
  bad_lookup: {
    status: 400,
    zh: '请输入车牌号（如 苏A12345）、日期（年-月-日）和接收告知短信的 11 位手机号',
    en: 'Enter a plate number (such as 苏A12345), a date (YYYY-MM-DD) and the 11-digit mobile number the notice was sent to',
  },
  too_many_failures: {
    status: 429,
    zh: '查询失败次数过多，请 {minutes} 分钟后再试',
    en: 'Too many failed look-ups; please try again in {minutes} min',
  },
  rate_limited: {
    status: 429,
    zh: '请求过于频繁，请稍后再试',
    en: 'Too many requests; please wait a moment and try again',
  },
  not_multipart: {
    status: 415,
    zh: '陈述须以表单（multipart/form-data）提交',
    en: 'Send the statement as a form (multipart/form-data)',
  },
  text_required: { status: 400, zh: '请填写陈述内容', en: 'Please write your statement' },
  text_too_long: {
    status: 400,
    zh: '陈述内容不能超过 {max} 个字',
    en: 'The statement can be at most {max} characters long',
  },
  contact_too_long: {
    status: 400,
    zh: '联系方式不能超过 {max} 个字',
    en: 'The contact can be at most {max} characters long',
  },
  bad_characters: { status: 400, zh: '内容中含有无法识别的控制字符', en: 'The text contains control characters' },
  bad_field: { status: 400, zh: '表单中有无法识别的字段：{field}', en: 'Unknown form field: {field}' },
  too_many_photos: { status: 413, zh: '最多只能附 {max} 张照片', en: 'At most {max} photos can be attached' },
  photo_too_large: { status: 413, zh: '每张照片不能超过 {mb} MB', en: 'Each photo must be at most {mb} MB' },
  body_too_large: { status: 413, zh: '提交的内容过大', en: 'The submission is too large' },
  photo_type: {
    status: 415,
    zh: '照片只能是 JPEG、PNG 或 WebP 格式的图片（{name} 不是）',
    en: 'Photos must be JPEG, PNG or WebP images ({name} is not)',
  },
  evidence_altered: {
    status: 500,
    zh: '该证据图片未通过完整性校验，暂不提供，请联系执法部门',
    en: 'This evidence image failed its integrity check and is not shown; please contact the bureau',
  },
  statement_limit: {
    status: 409,
    zh: '本记录的陈述已达 {max} 条上限{partyHint}',
    en: 'This record already has the maximum of {max} statements{partyHintEn}',
  },
  statement_client_limit: {
    status: 409,
    zh: '您已对本记录提交 {max} 条陈述{partyHint}',
    en: 'You have already submitted {max} statements on this record{partyHintEn}',
  },
  statement_rate: {
    status: 429,
    zh: '本记录一小时内已收到 {max} 条陈述，请稍后再试{partyHint}',
    en: 'This record has received {max} statements within the hour; please try again later{partyHintEn}',
  },
  statement_phone: {
    status: 403,
    zh: '该手机号不是告知短信的接收号码',
    en: 'This is not the mobile number the notice was sent to',
  },
  bad_request: { status: 400, zh: '请求有误', en: 'Bad request' },
  internal: {
    status: 500,
    zh: '服务器暂时无法处理，请稍后再试',
    en: 'The server could not handle this right now; please try again later',
  },
} as const satisfies Record<string, Msg>;
export type PublicErrorCode = keyof typeof MESSAGES;

/** A refusal of a public route, answered as `{ error, message: "zh / en", messages: { "zh-CN", en } }`. */
export class PublicError extends Error {
  readonly status: number;
  readonly zh: string;
  readonly en: string;
  constructor(
    readonly code: PublicErrorCode,
    vars: Record<string, string | number> = {},
  ) {
    const m: Msg = MESSAGES[code];
    const fill = (t: string) =>
      t.replace(/\{(\w+)\}/g, (s, k: string) => (vars[k] !== undefined ? String(vars[k]) : s));
    super(`${fill(m.zh)} / ${fill(m.en)}`);
    this.status = m.status;
    this.zh = fill(m.zh);
    this.en = fill(m.en);
  }

  body() {
    return { error: this.code, message: this.message, messages: { 'zh-CN': this.zh, en: this.en } };
  }
}

/**
 * Whether the request prefers JSON to a page: the q-values of application/json and text/html (exact types before
 * wildcards); a tie goes to the type named exactly, a tie of wildcards (or no Accept) to the page.
 */
export function prefersJson(accept: string | undefined): boolean {
  if (!accept) return false;
  let json = { q: 0, exact: false };
  let html = { q: 0, exact: false };
  for (const part of accept.split(',')) {
    const [range, ...params] = part.trim().toLowerCase().split(';');
    const qp = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const q = qp ? Number(qp.slice(2)) : 1;
    if (!Number.isFinite(q)) continue;
    const better = (cur: { q: number; exact: boolean }, exact: boolean) =>
      (exact && !cur.exact) || (exact === cur.exact && q > cur.q);
    if (range === 'application/json' && better(json, true)) json = { q, exact: true };
    else if ((range === 'application/*' || range === '*/*') && !json.exact && better(json, false))
      json = { q, exact: false };
    if (range === 'text/html' && better(html, true)) html = { q, exact: true };
    else if ((range === 'text/*' || range === '*/*') && !html.exact && better(html, false)) html = { q, exact: false };
  }
  if (json.q !== html.q) return json.q > html.q;
  return json.q > 0 && json.exact && !html.exact;
}

/** JPEG, PNG or WebP by the first bytes; null for anything else. */
export function sniffImage(b: Buffer): Statement['photos'][number]['type'] | null {
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'image/jpeg';
  if (b.length >= 8 && b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])))
    return 'image/png';
  if (b.length >= 12 && b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 8, 12) === 'WEBP')
    return 'image/webp';
  return null;
}

const SHARP_FORMAT: Record<string, Statement['photos'][number]['type']> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
};

/** The photo's type when its bytes are a readable JPEG, PNG or WebP image (the header says so and sharp agrees). */
async function photoType(b: Buffer): Promise<Statement['photos'][number]['type'] | null> {
  const sniffed = sniffImage(b);
  if (!sniffed) return null;
  try {
    // Capped like every untrusted image: a photo over MAX_IMAGE_PIXELS is no photo of a shop front.
    const m = await untrustedImage(b).metadata();
    return m.width && m.height && SHARP_FORMAT[m.format ?? ''] === sniffed ? sniffed : null;
  } catch {
    return null;
  }
}

// Control characters other than tab and line breaks have no place in a statement.
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

const ObjectionsQuery = z.strictObject({
  status: z.enum(['open', 'handled']).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  offset: z.coerce.number().int().min(0).default(0),
});
const HandleBody = z.strictObject({
  note: z.string().trim().min(1, 'a note (the answer to the party) is required').max(2000),
});
// A plate is on the street for anyone to read: the look-up also asks for the mobile number the notice went to (the
// registered keeper's, notice.party.phone), which a passer-by does not have. A body, not a query string, so the
// number stays out of URLs, histories and logs.
const LookupBody = z.strictObject({ plate: z.string().min(1).max(32), date: z.iso.date(), phone: z.string().max(32) });

type FailureKind = 'record' | 'evidence' | 'statement' | 'plate';

// What the routes take and answer, for the OpenAPI document (answers are sent as built: api/schemas.ts).
const tags = ['party'];
const Code = z.string().describe('the query code from the notice (XXXX-XXXX-XXXX-XXXX); any other string is a miss');
const CodeParams = z.object({ code: Code });
/** A refusal of a public route (PublicError.body()). */
const PublicFailure = z.object({
  error: z.string(),
  message: z.string().describe('zh / en'),
  messages: z.object({ 'zh-CN': z.string(), en: z.string() }),
});
const page = (description: string) => contentAnswer(description, 'text/html');
/** JSON when the request's Accept prefers it (prefersJson), else the page. */
const jsonOrPage = <S extends z.ZodType>(json: S, description: string) => ({
  description,
  content: { 'application/json': { schema: json }, ...page(description).content },
});
const Locations = z.object({
  publicationDays: z.number().int(),
  timeZone: z.string(),
  items: z.array(
    z.looseObject({
      cameraId: z.string(),
      place: z.string(),
      district: z.string(),
      publishedAt: z.string(),
      enforcingFrom: z.string(),
    }),
  ),
});
const LookupAnswer = z.object({
  timeZone: z.string(),
  items: z.array(
    z.object({
      code: z.string(),
      codeDisplay: z.string(),
      eventType: z.string(),
      start: z.number().describe('epoch ms'),
      place: z.string(),
    }),
  ),
});
const RecordView = z.looseObject({ codeDisplay: z.string(), timeZone: z.string() });
const StatementForm = z
  .object({
    text: z.string().describe('the statement (required)'),
    contact: z.string().optional().describe('how to reach the party for the answer'),
    phone: z.string().optional().describe("the mobile number the notice went to: the party's own slots"),
    lang: z.string().optional(),
    photos: z
      .array(z.unknown().meta({ type: 'string', format: 'binary' }))
      .optional()
      .describe('up to 3 JPEG, PNG or WebP photos'),
  })
  .describe('multipart/form-data');
const StatementAccepted = z.object({
  id: z.string(),
  submittedAt: z.number().describe('epoch ms'),
  status: z.enum(['open', 'handled']),
  photos: z.number().int(),
});
const ObjectionView = z.looseObject({
  id: z.string(),
  eventId: z.string(),
  status: z.enum(['open', 'handled']),
  event: z.looseObject({ id: z.string() }).nullable(),
});

// The public pool is full for this sender: say so, and that the party's own slots remain (while they do).
function capRefusal(
  reason: Exclude<CapReason, 'party'>,
  st: { maxPerRecord: number; maxPerClient: number; maxPerHour: number },
  partyOpen: boolean,
): PublicError {
  const hint = partyOpen
    ? {
        partyHint: '；当事人填写接收告知短信的手机号仍可提交',
        partyHintEn: '; the party can still submit by giving the mobile number the notice was sent to',
      }
    : { partyHint: '', partyHintEn: '' };
  if (reason === 'client') return new PublicError('statement_client_limit', { max: st.maxPerClient, ...hint });
  if (reason === 'rate') return new PublicError('statement_rate', { max: st.maxPerHour, ...hint });
  return new PublicError('statement_limit', { max: st.maxPerRecord, ...hint });
}

// ---- the plugin ------------------------------------------------------------------------------------------------

const pluginImpl: FastifyPluginAsyncZod<PartyRoutesOptions> = async (app, o) => {
  // An issue about the input as a whole (an unknown key) is named "query", as before the schemas (also for bodies).
  useZodSchemas(app, 'query', publicErrors);
  const limits = partyLimits(o.limits ?? {});
  const texts = o.texts ?? loadLegalTexts();
  const assets = loadPartyAssets(o.assetsDir ?? defaultPartyAssetsDir(), {
    plateLookup: limits.plateLookup,
    sourceUrl: o.sourceUrl,
  });
  const archive = o.sourceUrl ? null : sourceArchive();
  const now = o.now ?? Date.now;
  const log = o.logger.child({ part: 'party' });
  const cameras = () => (typeof o.cameras === 'function' ? o.cameras() : o.cameras);
  const guard = new ProbeGuard(limits.failures, now);
  const throttle = new LogThrottle(60_000, now);
  const registry = o.registry ?? new Registry();
  const failuresTotal = new Counter({
    name: 'party_lookup_failures_total',
    help: 'Public look-ups that found nothing (unknown or malformed query code, plate and day without a record, an image not of the record)',
    labelNames: ['kind'],
    registers: [registry],
  });
  const refusedTotal = new Counter({
    name: 'party_lookup_refused_total',
    help: 'Public look-ups refused with 429 after too many failures of the same client',
    registers: [registry],
  });
  const statementsTotal = new Counter({
    name: 'party_statements_total',
    help: 'Statements submitted on the public page, by result',
    labelNames: ['result'],
    registers: [registry],
  });

  const st = limits.statement;
  // A form of the largest allowed size, with room for the text fields and the multipart framing.
  const maxBody = st.maxPhotos * st.maxPhotoBytes + 256 * 1024;
  if (!app.hasContentTypeParser('multipart/form-data')) {
    await app.register(multipart, {
      limits: {
        fileSize: st.maxPhotoBytes,
        files: st.maxPhotos,
        fields: 8,
        fieldSize: st.maxChars * 4 + 1024,
        parts: st.maxPhotos + 8,
      },
    });
  }
  await app.register(rateLimit, { global: false });
  const rateCheck = app.createRateLimit({ max: limits.requestsPerWindow, timeWindow: limits.windowMs });

  const securityHeaders = (reply: FastifyReply, record: boolean) => {
    reply.header('content-security-policy', PAGE_CSP);
    reply.header('x-frame-options', 'DENY');
    // The path of a record holds its code: no other site may learn it from a Referer.
    reply.header('referrer-policy', 'no-referrer');
    if (record) {
      reply.header('x-robots-tag', 'noindex, nofollow');
      reply.header('cache-control', 'no-store');
    }
  };

  const sendPage = (req: FastifyRequest, reply: FastifyReply, state: PageState, record: boolean) => {
    securityHeaders(reply, record);
    reply.code(state === 'ok' ? 200 : state === 'not-found' ? 404 : 429);
    return sendAsset(req, reply, assets.page[state], { cache: record ? 'no-store' : 'no-cache', vary: 'accept' });
  };

  const sendError = (req: FastifyRequest, reply: FastifyReply, err: PublicError, page?: PageState) => {
    if (page && !prefersJson(req.headers.accept)) return sendPage(req, reply, page, true);
    reply.header('cache-control', 'no-store');
    return reply.code(err.status).send(err.body());
  };

  // Every /public route: requests per client per window.
  const limited = async (req: FastifyRequest, reply: FastifyReply) => {
    const r = await rateCheck(req);
    if (r.isAllowed || !r.isExceeded) return;
    reply.header('retry-after', String(r.ttlInSeconds));
    const err = new PublicError('rate_limited');
    if (throttle.take(`rate:${req.ip}`).log)
      log.warn({ client: req.ip, path: req.routeOptions.url }, 'public page: request rate limit reached');
    return reply.code(429).header('cache-control', 'no-store').send(err.body());
  };

  /**
   * A counted look-up: refused while the client is over its failure limit; a miss (null) is counted, logged
   * (throttled) and answered after the client's delay. Returns the value, or undefined when the answer was sent.
   */
  async function probe<T>(
    req: FastifyRequest,
    reply: FastifyReply,
    kind: FailureKind,
    miss: PublicError,
    page: boolean,
    find: () => Promise<T | null>,
  ): Promise<T | undefined> {
    const client = req.ip;
    if (!guard.begin(client)) {
      refusedTotal.inc();
      const waitS = Math.ceil(guard.blockedFor(client) / 1000);
      if (throttle.take(`blocked:${client}`).log)
        log.warn(
          { client, kind, failures: guard.failures(client) },
          'public look-ups refused: too many failures from this client',
        );
      reply.header('retry-after', String(Math.max(1, waitS)));
      return void (await sendError(
        req,
        reply,
        new PublicError('too_many_failures', { minutes: Math.max(1, Math.ceil(waitS / 60)) }),
        page ? 'too-many' : undefined,
      ));
    }
    let found: T | null;
    try {
      found = await find();
    } catch (e) {
      guard.end(client, true);
      throw e;
    }
    const delay = guard.end(client, found !== null);
    if (found !== null) return found;
    failuresTotal.inc({ kind });
    const t = throttle.take(`fail:${client}`);
    if (t.log)
      log.warn(
        { client, kind, failures: guard.failures(client), suppressed: t.suppressed },
        'public look-up found nothing',
      );
    if (delay > 0) await sleep(delay);
    return void (await sendError(req, reply, miss, page ? 'not-found' : undefined));
  }

  /** A failed second factor found after the look-up itself (a wrong phone with a statement): counted like a miss. */
  async function countMiss(req: FastifyRequest, kind: FailureKind): Promise<void> {
    if (!guard.begin(req.ip)) return;
    const delay = guard.end(req.ip, false);
    failuresTotal.inc({ kind });
    if (delay > 0) await sleep(delay);
  }

  /** The notice of a code with its confirmed event, or null (malformed, unknown, or not a reviewed record). */
  async function findRecord(raw: string): Promise<{ notice: Notice; stored: StoredEvent } | null> {
    const code = normaliseQueryCode(raw);
    if (!code) return null;
    const notice = await o.records.noticeByCode(code);
    if (!notice || notice.code !== code) return null;
    const stored = await o.records.event(notice.eventId);
    if (!stored || stored.status !== 'confirmed' || stored.review?.decision !== 'confirm') return null;
    return { notice, stored };
  }

  // The rest of a refused upload is read and dropped, so the client gets the answer rather than a reset connection.
  const discardBody = (req: FastifyRequest) => {
    if (!req.raw.readableEnded) req.raw.resume();
  };

  // The page's own answers to errors (its bilingual refusals), set by useZodSchemas above instead of the API's.
  function publicErrors(err: FastifyError, req: FastifyRequest, reply: FastifyReply) {
    if (err instanceof PublicError) {
      if (err.status === 413 || err.status === 415) discardBody(req);
      return reply.code(err.status).header('cache-control', 'no-store').send(err.body());
    }
    const e = err as { statusCode?: number; code?: string; message?: string };
    const status = e.statusCode ?? 500;
    if (req.url.startsWith('/api/')) {
      if (status >= 500) req.log.error({ err }, 'request failed');
      return reply.code(status).send({
        error: status >= 500 ? 'internal' : 'bad_request',
        message: status >= 500 ? 'internal error' : e.message,
      });
    }
    let pe: PublicError;
    if (e.code === 'FST_REQ_FILE_TOO_LARGE')
      pe = new PublicError('photo_too_large', { mb: +(st.maxPhotoBytes / 1048576).toFixed(1) });
    else if (e.code === 'FST_FILES_LIMIT') pe = new PublicError('too_many_photos', { max: st.maxPhotos });
    else if (status === 413) pe = new PublicError('body_too_large');
    else if (status === 415) pe = new PublicError('not_multipart');
    else if (status >= 500) {
      log.error({ err: e.message, path: req.url }, 'public page: request failed');
      pe = new PublicError('internal');
    } else pe = new PublicError('bad_request');
    if (pe.status === 413) {
      statementsTotal.inc({ result: 'refused' });
      discardBody(req);
    }
    return reply.code(pe.status).header('cache-control', 'no-store').send(pe.body());
  }

  // ---- the page ----

  const tooMany = { 429: PublicFailure };
  app.get(
    '/public',
    {
      onRequest: limited,
      schema: { tags, summary: 'To /public/', response: { 302: noBody('to /public/'), ...tooMany } },
    },
    async (_req, reply) => reply.redirect('/public/', 302),
  );
  app.get(
    '/public/',
    {
      onRequest: limited,
      schema: {
        tags,
        summary: "The party's query page (code, or plate and day)",
        response: { 200: page('the query page'), ...tooMany },
      },
    },
    async (req, reply) => sendPage(req, reply, 'ok', false),
  );
  app.get(
    '/public/assets/:name',
    {
      onRequest: limited,
      schema: {
        tags,
        summary: "The page's script and stylesheet",
        params: z.object({ name: z.string() }),
        response: { 200: contentAnswer('the file', 'text/javascript', 'text/css'), 404: Failure, ...tooMany },
      },
    },
    async (req, reply) => {
      const a = assets.files.get(req.params.name);
      if (!a) return reply.code(404).send({ error: 'not_found', message: 'no such file' });
      return sendAsset(req, reply, a, { vary: 'accept' });
    },
  );

  // The source of the running code (AGPL-3.0 section 13 for the coco weights): built once, then the same file.
  if (archive) {
    const schema = {
      tags,
      summary: 'The source of the running code (AGPL-3.0 section 13)',
      response: { 200: contentAnswer('a tar.gz of the source', 'application/gzip'), 503: Failure, ...tooMany },
    };
    app.get(SOURCE_ARCHIVE_PATH, { onRequest: limited, schema }, async (_req, reply) => {
      const file = await archive().catch((e: Error) => {
        log.error({ err: e.message }, 'the source archive could not be built');
        return null;
      });
      if (!file)
        return reply
          .code(503)
          .send({ error: 'unavailable', message: 'the source archive could not be built; see the log' });
      reply.header('content-type', 'application/gzip');
      reply.header('content-disposition', 'attachment; filename="city-sensing-source.tar.gz"');
      return reply.send(fs.createReadStream(file));
    });
  }

  // ---- locations ----

  const locations = {
    tags,
    summary: 'The published monitoring locations, from when each enforces',
    response: { 200: jsonOrPage(Locations, 'the locations, or the page that shows them'), ...tooMany },
  };
  app.get('/public/locations', { onRequest: limited, schema: locations }, async (req, reply) => {
    if (!prefersJson(req.headers.accept)) return sendPage(req, reply, 'ok', false);
    const items = publicLocations(cameras(), o.publicationDays, localDay(now(), o.timeZone));
    reply.header('vary', 'accept');
    reply.header('cache-control', 'no-cache');
    return described(Locations, { publicationDays: o.publicationDays, timeZone: o.timeZone, items });
  });

  // ---- look-up by plate and day ----

  const lookup = {
    tags,
    summary: 'Records of a plate on a local day whose notice went to that phone (when the city offers it)',
    body: LookupBody,
    response: { 200: LookupAnswer, 400: PublicFailure, 404: PublicFailure, 429: PublicFailure },
  };
  // Any refusal of the body is the page's bad_lookup.
  app.post('/public/lookup', { onRequest: limited, ...bodyCheckedByHandler, schema: lookup }, async (req, reply) => {
    if (!limits.plateLookup) return sendError(req, reply, new PublicError('lookup_disabled'));
    const q = LookupBody.safeParse(req.body ?? {});
    const plate = q.success ? normalisePlateText(q.data.plate) : '';
    const phone = q.success ? PhoneSchema.safeParse(q.data.phone) : null;
    if (!q.success || !isPlateText(plate) || !phone?.success)
      return sendError(req, reply, new PublicError('bad_lookup'));
    // A wrong number is a miss like a wrong code: counted, answered late, and the same answer as no record at all.
    const items = await probe(req, reply, 'plate', new PublicError('lookup_not_found'), false, async () => {
      const notices = await o.records.noticesByPlateDay(plate, q.data.date);
      const out = [];
      for (const n of notices.slice(0, 50)) {
        // A record whose notice went to no phone cannot be opened this way: only its code (or the case) reaches it.
        if (!n.party?.phone || n.party.phone !== phone.data) continue;
        const stored = await o.records.event(n.eventId);
        // Only records of exactly this plate: a looser match in a store must not show another party's record.
        const recorded = stored?.event.plate ? normalisePlateText(stored.event.plate.text) : null;
        if (!stored || stored.status !== 'confirmed' || recorded !== plate) continue;
        out.push({
          code: n.code,
          codeDisplay: formatQueryCode(n.code),
          eventType: stored.event.type,
          start: stored.event.start,
          place: stored.event.camera.postedLocation,
        });
      }
      return out.length > 0 ? out.sort((a, b) => a.start - b.start) : null;
    });
    if (items === undefined) return reply;
    securityHeaders(reply, true);
    return { timeZone: o.timeZone, items };
  });

  // ---- a record ----

  const record = {
    tags,
    summary: 'A record by its query code',
    params: CodeParams,
    response: {
      200: jsonOrPage(RecordView, 'the record (PublicRecordView, party/record.ts), or the page that shows it'),
      404: PublicFailure,
      429: PublicFailure,
    },
  };
  app.get('/public/records/:code', { onRequest: limited, schema: record }, async (req, reply) => {
    const json = prefersJson(req.headers.accept);
    const r = await probe(req, reply, 'record', new PublicError('not_found'), !json, () => findRecord(req.params.code));
    if (!r) return reply;
    if (!json) return sendPage(req, reply, 'ok', true);
    const statements = await o.statements.byEvent(r.notice.eventId);
    const view = buildPublicRecord(r.notice, r.stored, statements, cameras(), {
      texts,
      publicationDays: o.publicationDays,
      timeZone: o.timeZone,
      ...(o.caseCodes ? { caseCodes: o.caseCodes } : {}),
    });
    securityHeaders(reply, true);
    reply.header('vary', 'accept');
    return described(RecordView, view);
  });

  const evidence = {
    tags,
    summary: 'An image of that record, and of no other',
    params: z.object({
      code: Code,
      sha256: z.string().describe('SHA-256, 64 hex digits; an image extension may follow'),
    }),
    response: {
      200: contentAnswer('the image', 'image/jpeg', 'image/png', 'image/webp'),
      404: PublicFailure,
      429: PublicFailure,
      500: PublicFailure,
    },
  };
  app.get('/public/records/:code/evidence/:sha256', { onRequest: limited, schema: evidence }, async (req, reply) => {
    const p = req.params;
    const sha = p.sha256.replace(/\.(jpg|jpeg|png|webp)$/, '');
    const data = await probe(req, reply, 'evidence', new PublicError('not_found'), false, async () => {
      if (!/^[0-9a-f]{64}$/.test(sha)) return null;
      const r = await findRecord(p.code);
      if (!r || !recordImages(r.notice, r.stored).some((i) => i.sha256 === sha)) return null;
      return o.evidence.getVerified(sha);
    }).catch((e: unknown) => {
      if (!(e instanceof EvidenceIntegrityError)) throw e;
      // Never a byte of an altered file: the party would be shown something else than what was recorded.
      log.error({ sha256: sha, actual: e.actual }, 'evidence file altered on disk: refused, not served');
      return e;
    });
    if (data instanceof EvidenceIntegrityError) return sendError(req, reply, new PublicError('evidence_altered'));
    if (!data) return reply;
    reply.header('cache-control', 'private, max-age=86400, immutable');
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('content-type', sniffImage(data) ?? 'application/octet-stream');
    return reply.send(data);
  });

  // ---- a statement ----

  const statement = {
    tags,
    summary: 'A statement on a record: text, contact, up to 3 photos',
    consumes: ['multipart/form-data'],
    params: CodeParams,
    body: StatementForm,
    response: {
      201: StatementAccepted,
      400: PublicFailure,
      403: PublicFailure,
      404: PublicFailure,
      409: PublicFailure,
      413: PublicFailure,
      415: PublicFailure,
      429: PublicFailure,
    },
  };
  // The form is read part by part below, never as a whole.
  app.post(
    '/public/records/:code/statements',
    { onRequest: limited, ...bodyCheckedByHandler, schema: statement },
    async (req, reply) => {
      const length = Number(req.headers['content-length'] ?? 0);
      if (length > maxBody) {
        statementsTotal.inc({ result: 'refused' });
        // Not read: the connection closes after the answer.
        reply.header('connection', 'close');
        return sendError(req, reply, new PublicError('body_too_large'));
      }
      const r = await probe(req, reply, 'statement', new PublicError('not_found'), false, () =>
        findRecord(req.params.code),
      );
      if (!r) {
        discardBody(req);
        return reply;
      }
      if (!req.isMultipart()) {
        statementsTotal.inc({ result: 'refused' });
        throw new PublicError('not_multipart');
      }
      // A cheap first check before the body is read, when every slot is taken; the caps themselves are held by the
      // store's conditional insert below (parallel posts all pass this one).
      const partyPhone = r.notice.party?.phone;
      const partySlots = partyPhone ? st.partySlots : 0;
      const used = await o.statements.counts(r.notice.eventId);
      if (used.public >= st.maxPerRecord && used.party >= partySlots) {
        statementsTotal.inc({ result: 'refused' });
        discardBody(req);
        throw new PublicError('statement_limit', { max: st.maxPerRecord + partySlots, partyHint: '', partyHintEn: '' });
      }

      let text = '';
      let contact = '';
      let phone = '';
      const photos: { name: string; data: Buffer }[] = [];
      const parts = req.parts({
        limits: {
          fileSize: st.maxPhotoBytes,
          files: st.maxPhotos,
          fields: 8,
          fieldSize: st.maxChars * 4 + 1024,
          parts: st.maxPhotos + 8,
        },
      });
      for await (const part of parts) {
        if (part.type === 'file') {
          if (part.fieldname !== 'photos' && part.fieldname !== 'photo') {
            await part.toBuffer().catch(() => undefined);
            throw new PublicError('bad_field', { field: part.fieldname.slice(0, 40) });
          }
          const data = await part.toBuffer();
          // An empty file input in a plain form sends an empty part without a name: nothing chosen.
          if (data.length === 0 && !part.filename) continue;
          photos.push({ name: (part.filename || `photo ${photos.length + 1}`).slice(0, 80), data });
        } else {
          const value = typeof part.value === 'string' ? part.value : String(part.value ?? '');
          if (part.fieldname === 'text') {
            if (part.valueTruncated) throw new PublicError('text_too_long', { max: st.maxChars });
            text = value;
          } else if (part.fieldname === 'contact') {
            if (part.valueTruncated) throw new PublicError('contact_too_long', { max: st.maxContactChars });
            contact = value;
          } else if (part.fieldname === 'phone') {
            phone = value.slice(0, 32);
          } else if (part.fieldname !== 'lang') {
            throw new PublicError('bad_field', { field: part.fieldname.slice(0, 40) });
          }
        }
      }

      try {
        text = text.replace(/\r\n/g, '\n').trim();
        contact = contact.trim();
        if (!text) throw new PublicError('text_required');
        if ([...text].length > st.maxChars) throw new PublicError('text_too_long', { max: st.maxChars });
        if ([...contact].length > st.maxContactChars)
          throw new PublicError('contact_too_long', { max: st.maxContactChars });
        if (CONTROL.test(text) || CONTROL.test(contact)) throw new PublicError('bad_characters');
        const typed: { data: Buffer; type: Statement['photos'][number]['type'] }[] = [];
        for (const p of photos) {
          if (p.data.length > st.maxPhotoBytes)
            throw new PublicError('photo_too_large', { mb: +(st.maxPhotoBytes / 1048576).toFixed(1) });
          const type = await photoType(p.data);
          if (!type) throw new PublicError('photo_type', { name: p.name });
          typed.push({ data: p.data, type });
        }
        // The party's own slots need the number the notice went to; a wrong one counts as a failed look-up.
        let pool: 'public' | 'party' = 'public';
        if (phone.trim()) {
          const given = PhoneSchema.safeParse(phone);
          if (!given.success || !partyPhone || given.data !== partyPhone) {
            await countMiss(req, 'statement');
            throw new PublicError('statement_phone');
          }
          pool = 'party';
        }
        const photosOf = typed.map((p) => ({
          sha256: EvidenceStore.sha256(p.data),
          bytes: p.data.length,
          type: p.type,
        }));
        const added = await o.statements.add(
          {
            eventId: r.notice.eventId,
            code: r.notice.code,
            text,
            photos: photosOf,
            ...(contact ? { contact } : {}),
            submittedAt: now(),
            client: req.ip,
            pool,
          },
          {
            maxPerRecord: st.maxPerRecord,
            maxPerClient: st.maxPerClient,
            maxPerWindow: st.maxPerHour,
            windowMs: 3600_000,
            partySlots,
          },
        );
        if (!added.ok) {
          if (added.reason === 'party')
            throw new PublicError('statement_limit', { max: partySlots, partyHint: '', partyHintEn: '' });
          const partyOpen = partySlots > 0 && (await o.statements.counts(r.notice.eventId)).party < partySlots;
          throw capRefusal(added.reason, st, partyOpen);
        }
        const statement = added.statement;
        // The photos are written once the statement has its slot: a refused one leaves no files behind.
        try {
          for (const p of typed) await o.evidence.put(p.data);
        } catch (e) {
          await o.statements.remove(statement.id);
          throw e;
        }
        const stored = statement.photos;
        statementsTotal.inc({ result: 'accepted' });
        log.info(
          { event: r.notice.eventId, statement: statement.id, photos: stored.length, contact: !!contact, pool },
          'statement submitted by a party: open objection for the reviewers',
        );
        reply.header('cache-control', 'no-store');
        return reply.code(201).send({
          id: statement.id,
          submittedAt: statement.submittedAt,
          status: statement.status,
          photos: stored.length,
        });
      } catch (e) {
        if (e instanceof PublicError) statementsTotal.inc({ result: 'refused' });
        throw e;
      }
    },
  );

  // ---- objections, for reviewers ----

  const reviewers = { preHandler: requireRole('reviewer', 'admin') };
  const objections = {
    tags,
    summary: "The parties' statements (objections), for the reviewers",
    querystring: ObjectionsQuery,
    response: { 200: z.object({ items: z.array(ObjectionView), total: z.number().int() }), 400: Failure },
  };
  app.get('/api/objections', { ...reviewers, schema: objections }, async (req) => {
    const q = req.query;
    const res = await o.statements.list({ status: q.status, limit: q.limit, offset: q.offset });
    const events = new Map<string, StoredEvent | null>();
    for (const s of res.items) if (!events.has(s.eventId)) events.set(s.eventId, await o.records.event(s.eventId));
    const items = res.items.map((s) => {
      const e = events.get(s.eventId)?.event;
      return {
        ...s,
        event: e
          ? {
              id: e.id,
              type: e.type,
              camera: { id: e.camera.id, postedLocation: e.camera.postedLocation },
              zone: { id: e.zone.id, name: e.zone.name },
              start: e.start,
            }
          : null,
      };
    });
    return { items: items.map((i) => described(ObjectionView, i)), total: res.total };
  });

  const handle = {
    tags,
    summary: 'Answer an objection, as the signed-in reviewer',
    params: z.object({ id: z.string() }),
    body: HandleBody,
    response: {
      200: ObjectionView.omit({ event: true }),
      400: Failure,
      404: Failure,
      409: Failure.extend({ statement: z.looseObject({}) }),
    },
  };
  app.post('/api/objections/:id/handle', { ...reviewers, schema: handle }, async (req, reply) => {
    const user = req.user!;
    const id = req.params.id;
    const r = await o.statements.handle(id, { username: user.username, role: user.role }, req.body.note);
    if (!r.ok) {
      if (r.reason === 'not_found') return reply.code(404).send({ error: 'not_found', message: `no objection ${id}` });
      const h = r.statement.handled;
      return reply.code(409).send({
        error: 'conflict',
        message: `objection ${id} was already handled${h ? ` by ${h.by.username} at ${new Date(h.at).toISOString()}` : ''}`,
        statement: described(z.looseObject({}), r.statement),
      });
    }
    log.info(
      { statement: id, event: r.statement.eventId, by: user.username, role: user.role },
      'objection handled by a reviewer',
    );
    return described(ObjectionView.omit({ event: true }), r.statement);
  });
};

/**
 * `await app.register(partyRoutes, opts)`: the public routes and the objection routes. Encapsulated: its multipart
 * parser, rate limiter and error handler apply to its own routes only. The /api routes rely on the platform's /api
 * guard (users/) for the session and the roles (reviewer, admin).
 */
export const partyRoutes = pluginImpl;
