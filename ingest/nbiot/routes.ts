// POST /api/ingest/nbiot: the carrier platform's HTTP push of manhole-cover data and events. The receiver is a source
// like an edge agent: it checks the sender, maps the push to a reading of the contract and publishes it with QoS 1 on
// the device's readings topic; what cannot be mapped is published as a gateway dead letter. It answers 200 only once
// the broker has acknowledged, 503 when the broker cannot take it (the platform retries), 401 to a stranger.
// An encapsulated plugin: `app.register(nbiotRoutes, { config, logger })`, its route described by zod schemas.
import path from 'node:path';
import type { FastifyReply } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { Counter, type Registry } from 'prom-client';
import { z } from 'zod';
import { Failure, useZodSchemas } from '../../api/schemas.js';
import { gatewayDeadLettersTopic, readingsTopic, type GatewayDeadLetter } from '../../contracts/index.js';
import type { Logger } from '../../runtime/log.js';
import { verifyAuth } from './auth.js';
import type { NbiotConfig } from './config.js';
import { PushDecoder } from './formats.js';
import { MqttPublisher, type Publisher } from './publisher.js';
import { SeenIds } from './seen.js';

export const NBIOT_PATH = '/api/ingest/nbiot';
/** Dead letters of the receiver travel as those of a gateway with this id. */
export const NBIOT_GATEWAY_ID = 'nbiot';
export const SEEN_FILE = 'nbiot-seen-ids.log';

export interface NbiotRoutesOptions {
  config: NbiotConfig;
  logger: Logger;
  /** Default: an MQTT publisher from config.mqtt, closed with the app. */
  publisher?: Publisher;
  /** Default: config.idempotency.dir/nbiot-seen-ids.log, closed with the app. */
  seen?: SeenIds;
  /** Prometheus counters (nbiot_pushes_total by result) are registered here when given. */
  registry?: Registry;
  /** Called with the result of every push (tests, simulators). */
  onResult?: (result: PushResult) => void;
}

export type PushResult = 'published' | 'duplicate' | 'ignored' | 'dead_letter' | 'unauthorized' | 'unavailable';

// The answer of a push that was taken (published, a duplicate, ignored, or kept as a dead letter), for the OpenAPI document.
const Taken = z.object({
  ok: z.literal(true),
  duplicate: z.literal(true).optional().describe('the message id was published before'),
  ignored: z.string().optional().describe('why: a message type that carries no reading'),
  deadLetter: z.string().optional().describe('why the push was kept as a dead letter instead of published'),
});
// Any value passes: the sender is judged by auth.ts, and a push that cannot be read is dead-lettered, never refused.
const AnyValue = z.union([z.string(), z.array(z.string())]).optional();

export const nbiotRoutes: FastifyPluginAsyncZod<NbiotRoutesOptions> = async (app, opts) => {
  useZodSchemas(app, 'query');
  const { config: cfg } = opts;
  const log = opts.logger.child({ part: 'nbiot', format: cfg.format });
  const decoder = new PushDecoder(cfg);
  const publisher =
    opts.publisher ??
    new MqttPublisher({
      url: cfg.mqtt.url,
      clientId: cfg.mqtt.clientId,
      username: cfg.mqtt.username,
      password: cfg.mqtt.password,
      caFile: cfg.mqtt.caFile,
      timeoutMs: cfg.mqtt.publishTimeoutMs,
      logger: log,
    });
  const seen =
    opts.seen ??
    SeenIds.open(path.join(cfg.idempotency.dir, SEEN_FILE), {
      maxIds: cfg.idempotency.maxIds,
      maxAgeMs: cfg.idempotency.maxAgeDays * 86_400_000,
    });
  app.addHook('onClose', async () => {
    if (!opts.publisher) await publisher.close();
    if (!opts.seen) seen.close();
  });

  const counter = opts.registry
    ? new Counter({
        name: 'nbiot_pushes_total',
        help: 'Carrier platform pushes, by result',
        labelNames: ['result'] as const,
        registers: [opts.registry],
      })
    : null;
  const count = (r: PushResult) => {
    counter?.labels(r).inc();
    opts.onResult?.(r);
  };

  // The raw bytes are needed for the HMAC and for dead letters, and a body that is not JSON (or says it is something
  // else) must reach the handler to be dead-lettered rather than be refused by fastify's own parser. These parsers
  // live in this plugin's encapsulation only.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  // A push under way per message id: a duplicate arriving meanwhile waits for it instead of publishing again.
  const inflight = new Map<string, Promise<void>>();

  /** Runs work once per message id; 'duplicate' when the id was already done. */
  async function once(id: string | undefined, work: () => Promise<void>): Promise<'done' | 'duplicate'> {
    if (id === undefined) {
      await work();
      return 'done';
    }
    if (seen.has(id)) return 'duplicate';
    const running = inflight.get(id);
    if (running) {
      await running; // rejects like the first one: the platform retries both
      return 'duplicate';
    }
    const p = work();
    inflight.set(id, p);
    try {
      await p;
      seen.add(id);
    } finally {
      inflight.delete(id);
    }
    return 'done';
  }

  // A misconfigured product (or a stranger) can push thousands of bad messages: log the first few of each minute,
  // then how many more there were.
  function limitedWarn(what: string) {
    let w = { start: 0, logged: 0, suppressed: 0 };
    return (fields: Record<string, unknown>, msg: string) => {
      const now = Date.now();
      if (now - w.start > 60_000) {
        if (w.suppressed > 0) log.warn({ count: w.suppressed }, `${what}: more in the last minute`);
        w = { start: now, logged: 0, suppressed: 0 };
      }
      if (w.logged < 10) {
        w.logged++;
        log.warn(fields, msg);
      } else w.suppressed++;
    };
  }
  const warnDeadLetter = limitedWarn('pushes dead-lettered (see /api/dead-letters)');
  const warnRefused = limitedWarn('pushes refused: sender not authenticated');

  let unavailableLogged = false;
  function unavailable(reply: FastifyReply, err: unknown): FastifyReply {
    count('unavailable');
    const message = err instanceof Error ? err.message : String(err);
    if (!unavailableLogged) log.warn({ err: message }, 'cannot publish: answering 503 so the platform retries');
    else log.debug({ err: message }, 'cannot publish');
    unavailableLogged = true;
    return reply.code(503).send({ error: 'unavailable', message });
  }

  const tokenParam = cfg.auth.mode === 'token' ? cfg.auth.query : undefined;
  const schema = {
    tags: ['nbiot'],
    summary: "The carrier platform's push: a reading of a manhole cover, published on the broker before the 200",
    description: `Authenticated by ${cfg.auth.mode === 'hmac' ? `an HMAC of the body in header ${cfg.auth.header}` : [cfg.auth.header && `header ${cfg.auth.header}`, tokenParam && `query parameter ${tokenParam}`].filter(Boolean).join(' or ')}; no session.`,
    querystring: z.looseObject(tokenParam ? { [tokenParam]: AnyValue.describe('the shared token') } : {}),
    body: z
      .unknown()
      .describe(
        `one push of the ${cfg.format} format (JSON), read as raw bytes: one that cannot be read is kept as a dead letter`,
      ),
    response: {
      200: Taken,
      401: Failure,
      413: Failure,
      503: Failure.describe('the broker cannot take it: the platform retries'),
    },
  };
  app.post(NBIOT_PATH, { bodyLimit: cfg.bodyLimitBytes, schema }, async (req, reply) => {
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const auth = verifyAuth(cfg.auth, req.headers, req.query, raw);
    if (!auth.ok) {
      count('unauthorized');
      warnRefused({ ip: req.ip, reason: auth.reason, bytes: raw.length }, 'push refused: sender not authenticated');
      return reply.code(401).send({ error: 'unauthorized', message: 'sender not authenticated' });
    }

    const deadLetter = async (reason: string, messageId?: string) => {
      // The contract bounds a reason at 2000 characters (a list of a huge payload's fields could pass that).
      if (reason.length > 2000) reason = `${reason.slice(0, 1990)} [...]`;
      const dl: GatewayDeadLetter = {
        source: `nbiot:${cfg.format}@${req.ip}`,
        reason,
        receivedAt: Date.now(),
        payload: raw.toString('base64'),
      };
      try {
        const r = await once(messageId, () =>
          publisher.publish(gatewayDeadLettersTopic(NBIOT_GATEWAY_ID), JSON.stringify(dl)),
        );
        if (r === 'duplicate') {
          count('duplicate');
          return reply.send({ ok: true, duplicate: true });
        }
      } catch (e) {
        return unavailable(reply, e);
      }
      unavailableLogged = false;
      count('dead_letter');
      warnDeadLetter({ ip: req.ip, reason }, 'push dead-lettered');
      // 200, not 400: the platform would retry a 4xx in vain, and CTWing pauses all pushes to a receiver whose
      // failure rate passes 10 %. The push is kept as a dead letter, where a person can act on it.
      return reply.send({ ok: true, deadLetter: reason });
    };

    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch (e) {
      return deadLetter(raw.length === 0 ? 'empty body' : `body is not JSON: ${(e as Error).message}`);
    }
    const d = decoder.decode(body);
    if (d.kind === 'dead') return deadLetter(d.reason, d.messageId);
    if (d.kind === 'ignored') {
      count('ignored');
      log.debug({ reason: d.reason }, 'push ignored');
      return reply.send({ ok: true, ignored: d.reason });
    }

    const ref = { district: d.device.district, kind: 'manhole' as const, deviceId: d.device.id };
    try {
      const r = await once(d.messageId, () => publisher.publish(readingsTopic(ref), JSON.stringify(d.reading)));
      if (r === 'duplicate') {
        count('duplicate');
        log.debug({ device: d.device.id, messageId: d.messageId }, 'duplicate push: already published');
        return reply.send({ ok: true, duplicate: true });
      }
    } catch (e) {
      return unavailable(reply, e);
    }
    unavailableLogged = false;
    count('published');
    log.debug({ device: d.device.id, type: d.type, ts: d.reading.ts }, 'push published');
    return reply.send({ ok: true });
  });
};
