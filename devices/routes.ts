// The registry's write routes (admins): register, change, import and export as CSV, and MQTT credentials issued
// from the same page. `GET /api/devices`, the list every role that sees devices reads, stays with the device
// directory (console/devices-route.ts), which merges this registry into it.
// An encapsulated plugin: `app.register(deviceRegistryRoutes, { registry, audit, mqttCredentialsFile })`, with zod
// schemas on its routes (api/schemas.ts); the registry checks the bodies (bodyCheckedByHandler), as the CSV import does.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod, ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { bodyCheckedByHandler, described, Failure, contentAnswer, useZodSchemas } from '../api/schemas.js';
import { requireRole } from '../users/guard.js';
import type { AuditEntry } from '../users/types.js';
import { hashPassword, MACHINE_SECRET_KDF, randomSecret } from '../users/kdf.js';
import { loadOrEmpty, writeCredentialsFile } from '../broker/credentials.js';
import { deviceTopics } from '../broker/auth.js';
import { csvToInputs, devicesToCsv } from './csv.js';
import { DeviceError, type DeviceRegistry } from './registry.js';
import { DeviceInputSchema, DeviceSchema, DeviceUpdateSchema, type Device } from './types.js';

export interface DeviceRegistryRoutesOptions {
  registry: DeviceRegistry;
  /** Every change with who made it and from where (the users' audit trail). */
  audit?: (e: AuditEntry) => Promise<void>;
  /**
   * The embedded broker's credentials file ($DATA_DIR/mqtt-credentials.json), which the running broker re-reads:
   * credentials are issued into it. Null with an external broker, whose accounts are the city's (deploy/mosquitto).
   */
  mqttCredentialsFile?: string | null;
  now?: () => number;
}

const CSV_LIMIT = 5 * 1024 * 1024;

// Any id in the path: an unknown one is the registry's 404.
const Params = z.object({ id: z.string() });
// What the answers hold, for the OpenAPI document (answers are sent as built: api/schemas.ts).
const DeviceView = DeviceSchema.loose();
const Credentials = z.object({
  username: z.string(),
  password: z.string().describe('shown once: only its hash is kept'),
  topic: z.string().describe('where the device publishes its readings'),
});

/** A change, for the audit trail. */
type DeviceChange = { type: 'created' | 'updated'; device: Device; before?: Device; by: string };

function send(reply: FastifyReply, e: unknown) {
  if (e instanceof DeviceError) return reply.code(e.status).send({ error: e.code, message: e.message });
  throw e;
}

/** What a change changed, for the audit trail: "location 31.1,120.1 → 31.2,120.1; status active → maintenance". */
export function changedFields(before: Device, after: Device): string {
  const keys = [
    'kind',
    'district',
    'location',
    'gridCell',
    'address',
    'site',
    'ruleGroup',
    'installedAt',
    'commissionedAt',
    'status',
  ] as const;
  const show = (v: unknown) => (v && typeof v === 'object' ? JSON.stringify(v) : String(v));
  return keys
    .filter((k) => show(before[k]) !== show(after[k]))
    .map((k) => `${k} ${show(before[k])} → ${show(after[k])}`)
    .join('; ');
}

export const deviceRegistryRoutes: FastifyPluginAsyncZod<DeviceRegistryRoutesOptions> = async (app, o) => {
  useZodSchemas(app, 'body');
  const tags = ['devices'];
  const now = o.now ?? Date.now;
  const admin = { preHandler: requireRole('admin') };
  const audit = async (req: FastifyRequest, action: AuditEntry['action'], deviceId: string, detail?: string) =>
    o.audit?.({
      ts: now(),
      action,
      username: deviceId,
      by: req.user?.username ?? 'unknown',
      ip: req.ip,
      detail: detail?.slice(0, 2000),
    });
  const onChange = (req: FastifyRequest) => async (c: DeviceChange) => {
    if (c.type === 'created')
      await audit(req, 'device_created', c.device.id, `${c.device.kind} ${c.device.district} ${c.device.gridCell}`);
    else
      await audit(
        req,
        'device_updated',
        c.device.id,
        c.before ? changedFields(c.before, c.device) || 'no change' : undefined,
      );
  };

  app.post(
    '/api/devices',
    {
      ...admin,
      ...bodyCheckedByHandler,
      schema: {
        tags,
        summary: 'Register a device with its place (admin)',
        body: DeviceInputSchema,
        response: { 201: DeviceView, 400: Failure, 409: Failure },
      },
    },
    async (req, reply) => {
      try {
        const d = await o.registry.create(req.body, req.user!.username);
        await onChange(req)({ type: 'created', device: d, by: req.user!.username });
        return reply.code(201).send(d);
      } catch (e) {
        return send(reply, e);
      }
    },
  );

  app.put(
    '/api/devices/:id',
    {
      ...admin,
      ...bodyCheckedByHandler,
      schema: {
        tags,
        summary: "A registered device's whole record but its id (admin)",
        params: Params,
        body: DeviceUpdateSchema,
        response: { 200: DeviceView, 400: Failure, 404: Failure },
      },
    },
    async (req, reply) => {
      try {
        const before = o.registry.get(req.params.id);
        const d = await o.registry.update(req.params.id, req.body, req.user!.username);
        await onChange(req)({ type: 'updated', device: d, before, by: req.user!.username });
        return d;
      } catch (e) {
        return send(reply, e);
      }
    },
  );

  // Export for every role that sees devices; import replaces records, so admins only.
  app.get(
    '/api/devices/registry.csv',
    {
      schema: {
        tags,
        summary: 'The registry as CSV, the form the import takes',
        response: { 200: contentAnswer('CSV, a header line first', 'text/csv') },
      },
    },
    async (_req, reply) => {
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', 'attachment; filename="devices.csv"')
        .send(devicesToCsv(o.registry.list()));
    },
  );

  app.register(async (plain) => {
    const scope = plain.withTypeProvider<ZodTypeProvider>();
    scope.addContentTypeParser(
      ['text/csv', 'text/plain'],
      { parseAs: 'string', bodyLimit: CSV_LIMIT },
      (_req, body, done) => done(null, body),
    );
    scope.post(
      '/api/devices/registry.csv',
      {
        ...admin,
        // Any other type of body is answered 415 by the handler.
        ...bodyCheckedByHandler,
        schema: {
          tags,
          summary:
            'Import a CSV of devices (admin): every line is checked first, nothing is imported when one is wrong',
          consumes: ['text/csv', 'text/plain'],
          body: z.string().describe('CSV as GET /api/devices/registry.csv writes it'),
          response: {
            200: z.object({ created: z.number().int(), updated: z.number().int() }),
            400: Failure,
            415: Failure,
          },
        },
      },
      async (req, reply) => {
        const body: unknown = req.body;
        if (typeof body !== 'string')
          return reply.code(415).send({ error: 'bad_request', message: 'send the CSV as text/csv' });
        let rows;
        try {
          rows = csvToInputs(body);
        } catch (e) {
          return reply.code(400).send({ error: 'bad_request', message: (e as Error).message });
        }
        try {
          const r = await o.registry.upsertMany(rows, req.user!.username);
          await audit(
            req,
            'devices_imported',
            `${r.created.length + r.updated.length} devices`,
            `created ${r.created.map((d) => d.id).join(' ') || '-'}; updated ${r.updated.map((d) => d.id).join(' ') || '-'}`,
          );
          return { created: r.created.length, updated: r.updated.length };
        } catch (e) {
          return send(reply, e);
        }
      },
    );
  });

  // A fresh password for the device's own MQTT account (created when it has none), shown once: only its hash is kept.
  // Issued one at a time: each reads the credentials file, changes one account and writes it back.
  let issuing: Promise<unknown> = Promise.resolve();
  app.post(
    '/api/devices/:id/credentials',
    {
      ...admin,
      schema: {
        tags,
        summary: "A fresh password for the device's own MQTT account, shown once (admin)",
        params: Params,
        response: { 200: Credentials, 404: Failure, 409: Failure },
      },
    },
    async (req, reply) => {
      const turn = issuing.then(() => issue(req.params.id, req, reply));
      issuing = turn.catch(() => undefined);
      return described(Credentials, await turn);
    },
  );
  const issue = async (id: string, req: FastifyRequest, reply: FastifyReply) => {
    const d = o.registry.get(id);
    if (!d)
      return reply.code(404).send({ error: 'not_found', message: `device ${id} is not registered: register it first` });
    const file = o.mqttCredentialsFile;
    if (!file) {
      return reply.code(409).send({
        error: 'conflict',
        message:
          'this platform uses an external MQTT broker: its accounts are kept there (deploy/mosquitto, docs/deploy.md)',
      });
    }
    const creds = loadOrEmpty(file);
    const i = creds.accounts.findIndex((a) => a.username === d.id);
    const existing = i >= 0 ? creds.accounts[i]! : null;
    if (existing && (existing.type !== 'device' || existing.managed)) {
      return reply.code(409).send({
        error: 'conflict',
        message: `MQTT account ${d.id} is ${existing.type === 'device' ? 'managed by the platform (a simulated device)' : 'a service account'}: not changed`,
      });
    }
    const password = randomSecret(32);
    // A generated 256-bit secret needs no slow hash: the cheap machine-secret cost, as for the platform's own accounts.
    const account = {
      type: 'device' as const,
      username: d.id,
      deviceId: d.id,
      district: d.district,
      kind: d.kind,
      hash: await hashPassword(password, MACHINE_SECRET_KDF),
    };
    if (i >= 0) creds.accounts[i] = account;
    else creds.accounts.push(account);
    writeCredentialsFile(file, creds);
    await audit(req, 'device_credentials_issued', d.id, existing ? 'new password' : 'account created');
    return {
      username: d.id,
      password,
      topic: deviceTopics({ deviceId: d.id, district: d.district, kind: d.kind }).publish[0],
    };
  };
};
