// /api/openapi.json is an OpenAPI 3 document built from the routes' zod schemas: every route of the feature plugins
// (alerts, review, cases; readings, statistics, exports, reports, console, NB-IoT) is in it with its method and
// parameters, and a schema's refusal still answers the API's 400 body. Over real DuckDB stores, through fastify's
// inject (no port).
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertManager } from '../alerts/manager.js';
import { alertRoutes } from '../alerts/routes.js';
import { DuckDbAlertStore } from '../alerts/store.js';
import { MemoryBus } from '../bus/memory.js';
import { caseRoutes } from '../cases/routes.js';
import { CaseService } from '../cases/service.js';
import { DeviceDirectory, deviceRoutes } from '../console/devices-route.js';
import { consolePlugin } from '../console/plugin.js';
import { rulesRoutes } from '../console/rules-route.js';
import { exportRoutes } from '../exports/routes.js';
import { NbiotConfigSchema } from '../ingest/nbiot/config.js';
import { nbiotRoutes } from '../ingest/nbiot/routes.js';
import { reportRoutes } from '../reports/routes.js';
import { ReviewService } from '../review/decisions.js';
import { eventRoutes, reviewRoutes } from '../review/routes.js';
import { EventStore } from '../review/store.js';
import { silentLogger } from '../runtime/log.js';
import { storeSources, statsRoutes } from '../stats/index.js';
import type { DuckDbStore } from '../store/duckdb/store.js';
import { storeRoutes } from '../store/routes.js';
import { openStore, ROOT, tmpDir } from '../test/helpers.js';
import { ROUTE_ROLES, ruleFor } from '../users/guard.js';
import { EvidenceStore } from '../vision/evidence/store.js';
import { buildApi } from './server.js';

type Operation = {
  parameters?: { name: string; in: string; required?: boolean }[];
  requestBody?: { content: Record<string, { schema: unknown }> };
  responses?: Record<string, unknown>;
};
type Doc = {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, Operation>>;
};

let api: FastifyInstance;
let doc: Doc;
let store: DuckDbStore;
const closers: (() => Promise<void> | void)[] = [];
/** Every route the feature plugins register, as fastify sees it (method, pattern). */
const featureRoutes: { method: string; url: string }[] = [];

beforeAll(async () => {
  const dir = tmpDir('openapi');
  store = await openStore(dir);
  const alertStore = await DuckDbAlertStore.open(path.join(dir, 'alerts.duckdb'));
  const events = await EventStore.open(path.join(dir, 'events.duckdb'));
  const evidence = new EvidenceStore(path.join(dir, 'evidence'));
  const cases = await CaseService.open({
    config: { file: path.join(dir, 'cases.duckdb'), codesFile: path.join(ROOT, 'config/case-codes.json') },
    logger: silentLogger,
    dispatch: false,
  });
  const review = new ReviewService({ events, cases, logger: silentLogger });
  closers.push(
    () => cases.close(),
    () => events.close(),
    () => alertStore.close(),
    () => store.close(),
  );
  const alerts = new AlertManager(alertStore);
  api = await buildApi({
    store,
    registry: new Registry(),
    logger: silentLogger,
    alerts,
    events,
    evidence,
    plugins: [
      async (a) => {
        await a.register(reviewRoutes, { review });
        await a.register(caseRoutes, { cases, events, evidence });
      },
    ],
  });
  closers.unshift(() => api.close());
  const res = await api.inject({ url: '/api/openapi.json' });
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  doc = res.json() as Doc;

  // The same plugins in a bare app, to list their routes without relying on a hand-written list.
  const bare = Fastify();
  bare.addHook('onRoute', (r) => {
    for (const m of [r.method].flat()) if (m !== 'HEAD') featureRoutes.push({ method: m, url: r.url });
  });
  await bare.register(alertRoutes, { manager: alerts });
  await bare.register(eventRoutes, { events, evidence });
  await bare.register(reviewRoutes, { review });
  await bare.register(caseRoutes, { cases, events, evidence });
  await bare.ready();
  closers.unshift(() => bare.close());
});
afterAll(async () => {
  for (const c of closers) await c();
});

/** fastify's `/a/:id` as OpenAPI's `/a/{id}`. */
const openApiPath = (url: string) => url.replace(/:(\w+)/g, '{$1}');

describe('/api/openapi.json', () => {
  it('is an OpenAPI 3 document with info and paths', () => {
    expect(doc.openapi).toMatch(/^3\.\d+\.\d+$/);
    expect(doc.info.title).toBeTruthy();
    expect(doc.info.version).toBeTruthy();
    expect(Object.keys(doc.paths).length).toBeGreaterThan(0);
    for (const [p, ops] of Object.entries(doc.paths)) {
      expect(p.startsWith('/')).toBe(true);
      for (const [method, op] of Object.entries(ops)) {
        expect(['get', 'post', 'put', 'patch', 'delete', 'head', 'options']).toContain(method);
        expect(op.responses, `${method} ${p}`).toBeTypeOf('object');
        // Every path parameter in the template is declared, and declared required.
        for (const name of p.match(/\{(\w+)\}/g)?.map((s) => s.slice(1, -1)) ?? []) {
          expect(
            op.parameters?.find((q) => q.in === 'path' && q.name === name),
            `${method} ${p} declares {${name}}`,
          ).toMatchObject({ required: true });
        }
      }
    }
  });

  it('lists every route of the alerts, review and cases plugins with its method', () => {
    expect(featureRoutes.length).toBeGreaterThanOrEqual(13);
    for (const r of featureRoutes) {
      expect(doc.paths[openApiPath(r.url)]?.[r.method.toLowerCase()], `${r.method} ${r.url}`).toBeDefined();
    }
  });

  it('documents the parameters, bodies and answers from the route schemas', () => {
    const names = (op: Operation | undefined, where: string) =>
      (op?.parameters ?? [])
        .filter((q) => q.in === where)
        .map((q) => q.name)
        .sort();
    expect(names(doc.paths['/api/alerts']?.get, 'query')).toEqual(['device', 'district', 'kind', 'limit', 'state']);
    expect(names(doc.paths['/api/events']?.get, 'query')).toEqual(['camera', 'limit', 'offset', 'status', 'type']);
    expect(names(doc.paths['/api/cases']?.get, 'query')).toEqual(['limit', 'offset', 'status']);
    expect(names(doc.paths['/api/export/dataset']?.get, 'query')).toEqual(['format', 'from', 'to']);
    expect(names(doc.paths['/api/alerts/{id}/ack']?.post, 'path')).toEqual(['id']);
    expect(doc.paths['/api/alerts/{id}/notes']?.post?.requestBody?.content['application/json']?.schema).toMatchObject({
      type: 'object',
      properties: { note: { type: 'string' } },
    });
    expect(doc.paths['/api/events/{id}/review']?.post?.requestBody?.content['application/json']?.schema).toMatchObject({
      type: 'object',
      properties: { decision: { enum: ['confirm', 'reject'] } },
    });
    expect(doc.paths['/api/alerts']?.get?.responses).toHaveProperty('200');
    // The document itself is not listed.
    expect(doc.paths['/api/openapi.json']).toBeUndefined();
  });

  it('is open to every signed-in role, like the console pages', () => {
    expect(ruleFor(ROUTE_ROLES, 'GET', '/api/openapi.json')?.roles).toEqual(
      expect.arrayContaining(['staff', 'reviewer', 'admin']),
    );
  });
});

describe('a route schema refusing the input', () => {
  it('answers the 400 body the inline checks gave, naming each wrong field', async () => {
    const body = async (url: string, payload?: unknown) =>
      (await api.inject({ method: payload === undefined ? 'GET' : 'POST', url, payload: payload as object })).json();
    expect(await body('/api/alerts?state=burning')).toEqual({
      error: 'bad_request',
      message: 'state: Invalid option: expected one of "firing"|"acknowledged"|"resolved"|"open"',
    });
    expect(await body('/api/alerts?who=me')).toEqual({
      error: 'bad_request',
      message: 'input: Unrecognized key: "who"',
    });
    expect(await body('/api/alerts/not-a-uuid')).toEqual({ error: 'bad_request', message: 'id: alert ids are UUIDs' });
    expect(await body('/api/events?limit=0&who=me')).toEqual({
      error: 'bad_request',
      message: 'limit: Too small: expected number to be >=1; query: Unrecognized key: "who"',
    });
    // Other errors go to the API's error handler, as when these routes were registered on the API itself.
    const malformed = await api.inject({
      method: 'POST',
      url: '/api/alerts/00000000-0000-4000-8000-000000000000/ack',
      headers: { 'content-type': 'application/json' },
      payload: '{bad',
    });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json()).toEqual({
      error: 'bad_request',
      message: "Body is not valid JSON but content-type is set to 'application/json'",
    });
    // A path parameter longer than fastify's default limit (100) still reaches the route's schema (schemathesis sent
    // 101 characters to /api/cases/{id}, whose schema allows 100, and got fastify's own 414 body); one longer than any
    // schema allows is refused by the router with the API's 400 body.
    expect(await body(`/api/alerts/${'a'.repeat(150)}`)).toEqual({
      error: 'bad_request',
      message: 'id: alert ids are UUIDs',
    });
    const overlong = await api.inject({ url: `/api/alerts/${'a'.repeat(5000)}` });
    expect(overlong.statusCode).toBe(400);
    expect(overlong.json()).toEqual({ error: 'bad_request', message: 'path: a parameter longer than 2048 characters' });
    // A route's own role check answers before its schema does, as when the handler parsed the input (no user here).
    expect(await body('/api/cases?status=lost')).toEqual({ error: 'unauthorized' });
    expect(await body('/api/alerts/not-a-uuid/ack', { by: 'someone' })).toEqual({ error: 'unauthorized' });
  });
});

describe('the readings, statistics, exports, reports, console and NB-IoT routes', () => {
  let full: Doc;
  let withThem: FastifyInstance;
  const routes: { method: string; url: string }[] = [];

  beforeAll(async () => {
    const dir = tmpDir('openapi-reads');
    const alertStore = await DuckDbAlertStore.open(path.join(dir, 'alerts.duckdb'));
    const bus = new MemoryBus();
    const directory = await DeviceDirectory.start({ bus, logger: silentLogger });
    closers.push(
      () => directory.close(),
      () => bus.close(),
      () => alertStore.close(),
    );
    const alerts = new AlertManager(alertStore);
    const sources = storeSources({ alerts });
    const nbiot = NbiotConfigSchema.parse({
      auth: { mode: 'token', token: 'a-token-of-the-platform', query: 'token' },
      devices: [{ carrierId: 'c1', id: 'mh-001', district: 'xinhua' }],
      idempotency: { dir },
      mqtt: { url: 'mqtt://127.0.0.1:1' },
    });
    const publisher = { publish: async () => {}, close: async () => {}, connected: true };
    const register = async (a: FastifyInstance) => {
      await a.register(statsRoutes, { sources });
      await a.register(exportRoutes, { readings: store, alerts, stats: { sources } });
      await a.register(reportRoutes, { sources, timeZone: 'Asia/Shanghai' });
      await a.register(consolePlugin);
      await a.register(deviceRoutes, { directory });
      await a.register(rulesRoutes, { rulesFile: path.join(ROOT, 'config/rules.json'), logger: silentLogger });
      await a.register(nbiotRoutes, { config: nbiot, logger: silentLogger, publisher });
    };
    withThem = await buildApi({ store, registry: new Registry(), logger: silentLogger, plugins: [register] });
    closers.unshift(() => withThem.close());
    full = (await withThem.inject({ url: '/api/openapi.json' })).json() as Doc;

    const bare = Fastify();
    bare.addHook('onRoute', (r) => {
      for (const m of [r.method].flat()) if (m !== 'HEAD') routes.push({ method: m, url: r.url });
    });
    await register(bare);
    await bare.register(storeRoutes, { store });
    await bare.ready();
    closers.unshift(() => bare.close());
  });

  const op = (p: string, method = 'get') => full.paths[p]?.[method];
  const names = (p: string, where: string, method = 'get') =>
    (op(p, method)?.parameters ?? [])
      .filter((q) => q.in === where)
      .map((q) => q.name)
      .sort();

  it('lists every route of these plugins with its method, tag and summary', () => {
    expect(routes.length).toBe(21);
    for (const r of routes) {
      const o = op(openApiPath(r.url).replace('/*', '/{*}'), r.method.toLowerCase()) as
        (Operation & { tags?: string[]; summary?: string }) | undefined;
      expect(o, `${r.method} ${r.url}`).toBeDefined();
      expect(o!.tags?.length, `${r.method} ${r.url} tags`).toBe(1);
      expect(o!.summary, `${r.method} ${r.url} summary`).toBeTruthy();
    }
  });

  it('documents their queries and parameters', () => {
    expect(names('/api/readings', 'query')).toEqual(['device', 'from', 'limit', 'metric', 'resolution', 'to']);
    expect(names('/api/dead-letters', 'query')).toEqual(['limit']);
    expect(names('/api/stats', 'query')).toEqual(['from', 'group', 'to']);
    expect(names('/api/export/readings.csv', 'query')).toEqual(['device', 'from', 'metric', 'to']);
    expect(names('/api/export/alerts.xlsx', 'query')).toEqual(['device', 'district', 'from', 'kind', 'state', 'to']);
    expect(names('/api/export/stats.csv', 'query')).toEqual(['from', 'group', 'to']);
    expect(names('/api/reports/monthly.pdf', 'query')).toEqual(['date', 'format']);
    expect(names('/api/devices', 'query')).toEqual(['district', 'kind', 'online', 'status']);
    expect(names('/api/rules', 'query')).toEqual(['device', 'district', 'kind']);
    expect(names('/console/{*}', 'path')).toEqual(['*']);
    expect(names('/api/ingest/nbiot', 'query', 'post')).toEqual(['token']);
    expect(op('/api/ingest/nbiot', 'post')?.requestBody?.content).toHaveProperty('application/json');
  });

  it('describes each answer: JSON bodies, Failure for 4xx, files by the content type they are sent as', () => {
    const responses = (p: string, method = 'get') =>
      op(p, method)?.responses as Record<string, { content?: Record<string, { schema: Record<string, unknown> }> }>;
    expect(responses('/api/readings')['200']?.content?.['application/json']?.schema).toMatchObject({
      properties: { resolution: {}, readings: {}, total: {} },
    });
    expect(responses('/api/dead-letters')['400']?.content?.['application/json']?.schema).toMatchObject({
      properties: { error: { type: 'string' }, message: { type: 'string' } },
    });
    expect(Object.keys(responses('/api/export/readings.csv')['200']?.content ?? {})).toEqual([
      'text/csv; charset=utf-8',
    ]);
    expect(responses('/api/export/cases.xlsx')).toBeUndefined(); // not served without the cases store
    expect(
      responses('/api/export/alerts.xlsx')['200']?.content?.[
        'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'
      ]?.schema,
    ).toMatchObject({ type: 'string', format: 'binary' });
    expect(Object.keys(responses('/api/reports/daily.pdf')['200']?.content ?? {})).toEqual([
      'application/pdf',
      'text/html; charset=utf-8',
    ]);
    expect(responses('/api/reports/daily.pdf')).toHaveProperty('503');
    expect(Object.keys(responses('/')['200']?.content ?? {})).toEqual(['text/html; charset=utf-8']);
    expect(Object.keys(responses('/console/{*}')['200']?.content ?? {})).toEqual(
      expect.arrayContaining(['text/javascript; charset=utf-8', 'text/css; charset=utf-8', 'image/png']),
    );
    expect(responses('/console/{*}')).toHaveProperty('404');
    expect(responses('/api/ingest/nbiot', 'post')).toHaveProperty('401');
    expect(responses('/api/ingest/nbiot', 'post')).toHaveProperty('503');
  });

  it('refuse a bad query with the messages the inline checks gave', async () => {
    const body = async (url: string) => (await withThem.inject({ url })).json();
    expect(await body('/api/readings?device=nz-1&from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z')).toEqual({
      error: 'bad_request',
      message: 'from must be earlier than to',
    });
    expect(await body('/api/readings?device=nz-1&limit=0&who=me')).toEqual({
      error: 'bad_request',
      message: 'limit: Too small: expected number to be >=1; query: Unrecognized key: "who"',
    });
    expect(await body('/api/readings?device=nz-1&from=1767225600000&to=1767312000000')).toEqual({
      resolution: 'raw',
      readings: [],
      total: 0,
    });
    expect(await body('/api/dead-letters?limit=x')).toEqual({
      error: 'bad_request',
      message: 'limit: Invalid input: expected number, received NaN',
    });
    expect(await body('/api/rules?device=nz-1')).toEqual({
      error: 'bad_request',
      message: 'query: device needs district and kind too (as /api/devices gives them)',
    });
    expect((await body('/api/devices?kind=lamp')).message).toMatch(/^kind: /);
  });
});

describe('the notices, party, users, cameras and devices plugins in /api/openapi.json', () => {
  let doc2: Doc;
  const routes: { method: string; url: string }[] = [];

  beforeAll(async () => {
    const { authPlugin } = await import('../users/plugin.js');
    const { auditRoutes } = await import('../users/audit-route.js');
    const { noticeRoutes } = await import('../notices/routes.js');
    const { partyRoutes } = await import('../party/routes.js');
    const { cameraRoutes } = await import('../cameras/routes.js');
    const { deviceRegistryRoutes } = await import('../devices/routes.js');
    const { mapRoutes } = await import('../devices/map-routes.js');
    // The document is built when the routes are registered: the services behind them are never called here.
    const unused = {} as never;
    const register = async (a: FastifyInstance) => {
      await a.register(authPlugin, { users: unused });
      await a.register(auditRoutes, { list: async () => [] });
      await a.register(noticeRoutes, { notices: unused });
      await a.register(partyRoutes, {
        records: unused,
        statements: unused,
        evidence: unused,
        cameras: { timeZone: 'Asia/Shanghai', cameras: [] },
        publicationDays: 30,
        timeZone: 'Asia/Shanghai',
        logger: silentLogger,
      });
      await a.register(cameraRoutes, { cameras: unused, models: { default: 'city', models: [] } as never });
      await a.register(deviceRegistryRoutes, { registry: unused });
      await a.register(mapRoutes, { districts: null, grid: null, tileUrl: null, tileAttribution: '' });
    };
    const app = await buildApi({ store, registry: new Registry(), logger: silentLogger, plugins: [register] });
    closers.unshift(() => app.close());
    await app.ready();
    // Read from the server itself: the sign-in guard (authPlugin) would ask /api/openapi.json for a session.
    doc2 = (app as unknown as { swagger(): Doc }).swagger();

    const bare = Fastify();
    bare.addHook('onRoute', (r) => {
      for (const m of [r.method].flat()) if (m !== 'HEAD') routes.push({ method: m, url: r.url });
    });
    await register(bare);
    await bare.ready();
    closers.unshift(() => bare.close());
  });

  const op = (p: string, method: string) =>
    doc2.paths[p]?.[method] as (Operation & { tags?: string[]; summary?: string }) | undefined;
  const names = (o: Operation | undefined, where: string) =>
    (o?.parameters ?? [])
      .filter((q) => q.in === where)
      .map((q) => q.name)
      .sort();
  const body = (p: string, method: string, type = 'application/json') =>
    op(p, method)?.requestBody?.content[type]?.schema;
  const answer = (p: string, method: string, status: string) =>
    (op(p, method)?.responses?.[status] as { content?: Record<string, unknown> } | undefined)?.content ?? {};

  it('lists every route of these plugins with its method, tags, summary and declared path parameters', () => {
    expect(routes.length).toBeGreaterThanOrEqual(35);
    for (const r of routes) {
      const p = openApiPath(r.url);
      const o = op(p, r.method.toLowerCase());
      expect(o, `${r.method} ${r.url}`).toBeDefined();
      expect(o!.tags?.length, `${r.method} ${r.url} tags`).toBeGreaterThan(0);
      expect(o!.summary, `${r.method} ${r.url} summary`).toBeTruthy();
      // A described answer has a content type (a route without a response schema gets a bare 200 "Default Response").
      const described = Object.entries(o!.responses ?? {}).filter(
        ([status, a]) => (a as { content?: object }).content || status === '204' || status === '302',
      );
      expect(described.length, `${r.method} ${r.url} answers`).toBeGreaterThan(0);
      for (const name of p.match(/\{(\w+)\}/g)?.map((s) => s.slice(1, -1)) ?? []) {
        expect(
          o!.parameters?.find((q) => q.in === 'path' && q.name === name),
          `${r.method} ${p} declares {${name}}`,
        ).toMatchObject({ required: true });
      }
    }
  });

  it('documents their query and path parameters', () => {
    expect(names(op('/api/notices', 'get'), 'query')).toEqual(['limit', 'offset', 'status', 'type']);
    expect(names(op('/api/notices/{eventId}', 'get'), 'path')).toEqual(['eventId']);
    expect(names(op('/api/audit', 'get'), 'query')).toEqual(['action', 'from', 'limit', 'to', 'user']);
    expect(names(op('/api/audit.csv', 'get'), 'query')).toEqual(['action', 'from', 'limit', 'to', 'user']);
    expect(names(op('/api/objections', 'get'), 'query')).toEqual(['limit', 'offset', 'status']);
    expect(names(op('/api/users/{username}', 'patch'), 'path')).toEqual(['username']);
    expect(names(op('/api/cameras/{id}/zones', 'put'), 'path')).toEqual(['id']);
    expect(names(op('/api/devices/{id}/credentials', 'post'), 'path')).toEqual(['id']);
    expect(names(op('/public/records/{code}/evidence/{sha256}', 'get'), 'path')).toEqual(['code', 'sha256']);
  });

  it('documents their request bodies, JSON, CSV and multipart', () => {
    expect(body('/api/session', 'post')).toMatchObject({
      type: 'object',
      properties: { username: { type: 'string' }, password: { type: 'string' } },
    });
    expect(body('/api/users', 'post')).toMatchObject({
      properties: { role: { enum: ['staff', 'reviewer', 'admin'] } },
    });
    expect(body('/api/users/{username}', 'patch')).toMatchObject({
      properties: { password: { type: 'string' }, disabled: { type: 'boolean' } },
    });
    expect(body('/api/cameras', 'post')).toMatchObject({
      properties: { id: { type: 'string' }, source: {}, gridCell: { type: 'string' } },
    });
    expect(body('/api/cameras/{id}/zones', 'put')).toMatchObject({ properties: { zones: { type: 'array' } } });
    expect(body('/api/devices', 'post')).toMatchObject({
      properties: { id: { type: 'string' }, location: { type: 'object' } },
    });
    expect(body('/api/devices/{id}', 'put')).toMatchObject({ properties: { kind: {} } });
    expect(body('/api/devices/registry.csv', 'post', 'text/csv')).toMatchObject({ type: 'string' });
    expect(body('/api/objections/{id}/handle', 'post')).toMatchObject({ properties: { note: { type: 'string' } } });
    expect(body('/public/lookup', 'post')).toMatchObject({ properties: { plate: {}, date: {}, phone: {} } });
    expect(body('/public/records/{code}/statements', 'post', 'multipart/form-data')).toMatchObject({
      properties: { text: { type: 'string' }, photos: { type: 'array' } },
    });
  });

  it('documents answers under the content type they are sent as, and refusals as the error body', () => {
    expect(Object.keys(answer('/api/audit.csv', 'get', '200'))).toEqual(['text/csv']);
    expect(Object.keys(answer('/api/devices/registry.csv', 'get', '200'))).toEqual(['text/csv']);
    expect(Object.keys(answer('/api/cameras/{id}/frame', 'get', '200'))).toEqual(['image/jpeg', 'image/png']);
    expect(answer('/api/cameras/{id}/frame', 'get', '200')['image/jpeg']).toEqual({
      schema: { type: 'string', format: 'binary' },
    });
    expect(Object.keys(answer('/public/', 'get', '200'))).toEqual(['text/html']);
    expect(Object.keys(answer('/public/records/{code}', 'get', '200')).sort()).toEqual([
      'application/json',
      'text/html',
    ]);
    expect(Object.keys(answer('/public/records/{code}/evidence/{sha256}', 'get', '200'))).toEqual([
      'image/jpeg',
      'image/png',
      'image/webp',
    ]);
    expect(Object.keys(answer('/console/vendor/leaflet.js', 'get', '200'))).toEqual(['text/javascript']);
    const failure = {
      schema: { type: 'object', properties: { error: { type: 'string' }, message: { type: 'string' } } },
    };
    expect(answer('/api/notices', 'get', '400')['application/json']).toMatchObject(failure);
    expect(answer('/api/users', 'post', '409')['application/json']).toMatchObject(failure);
    expect(answer('/api/devices/{id}', 'put', '404')['application/json']).toMatchObject(failure);
    expect(answer('/public/lookup', 'post', '400')['application/json']).toMatchObject({
      schema: { properties: { messages: { type: 'object' } } },
    });
  });
});
