// The acknowledge link of a duty message, for a phone without a console session: GET shows the alert and a button,
// POST acknowledges it. A GET never acknowledges: chat apps fetch links to preview them. The signed token is the only
// credential (duty/links.ts); a wrong one is a 404 that says nothing about alerts.
import type { FastifyReply } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { contentAnswer, useZodSchemas } from '../api/schemas.js';
import { verifyAckToken } from './links.js';
import type { DutyAlerts, DutyService } from './service.js';

export interface DutyRoutesOptions {
  duty: Pick<DutyService, 'acknowledgeFromLink' | 'get'>;
  alerts: Pick<DutyAlerts, 'get'>;
  linkKey: Buffer;
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'";

function html(reply: FastifyReply, code: number, title: string, body: string): FastifyReply {
  return reply
    .code(code)
    .type('text/html; charset=utf-8')
    .header('content-security-policy', CSP)
    .header('cache-control', 'no-store')
    .header('referrer-policy', 'no-referrer')
    .send(`<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${esc(title)}</title>
<style>body{font-family:sans-serif;margin:24px;font-size:18px}button{font-size:20px;padding:12px 28px}</style></head><body>${body}</body></html>`);
}

// Any token is taken as a path parameter: a malformed one is a wrong one, answered 404 like any other.
const Params = z.strictObject({ token: z.string().describe('the signed token of the duty message (duty/links.ts)') });
const page = (description: string) => contentAnswer(description, 'text/html; charset=utf-8');
const tags = ['duty'];

/** Register with `app.register(dutyRoutes, opts)`: GET and POST `/duty/ack/:token`, without a session. */
export const dutyRoutes: FastifyPluginAsyncZod<DutyRoutesOptions> = async (app, o) => {
  useZodSchemas(app, 'params');
  // The button's form posts urlencoded; the token in the path is all the route reads.
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: 1024 },
    (_req, _body, done) => done(null, {}),
  );

  const notFound = (reply: FastifyReply) =>
    html(reply, 404, '链接无效 Invalid link', '<p>链接无效或已过期。This link is not valid.</p>');

  const getSchema = {
    tags,
    summary: 'The alert of a duty message and its acknowledge button (a GET never acknowledges)',
    params: Params,
    response: { 200: page('the alert and the button'), 404: page('a wrong or expired link') },
  };
  app.get('/duty/ack/:token', { schema: getSchema }, async (req, reply) => {
    const t = verifyAckToken(o.linkKey, req.params.token);
    const page = t && (await o.duty.get(t.alertId));
    const alert = t && (await o.alerts.get(t.alertId));
    if (!t || !page || !alert) return notFound(reply);
    const who = page.messages.find((m) => m.step === t.step)?.person.name ?? '';
    const done = page.acknowledged
      ? `<p>已由 ${esc(page.acknowledged.by)} 确认。Acknowledged by ${esc(page.acknowledged.by)}.</p>`
      : '';
    return html(
      reply,
      200,
      '确认接警 Acknowledge',
      `<h1>${esc(alert.name.zh)}</h1><p>${esc(alert.district)} · ${esc(alert.deviceId)} · ${esc(alert.severity)} · ${esc(alert.state)}</p>${done}
<form method="post"><button type="submit">${esc(who)} 确认接警 Acknowledge</button></form>`,
    );
  });

  const postSchema = {
    tags,
    summary: "Acknowledge the alert as the message's addressee",
    params: Params,
    response: {
      200: page('acknowledged (now or before)'),
      404: page('a wrong or expired link'),
      409: page('the alert is already resolved'),
    },
  };
  app.post('/duty/ack/:token', { schema: postSchema }, async (req, reply) => {
    const t = verifyAckToken(o.linkKey, req.params.token);
    if (!t) return notFound(reply);
    const r = await o.duty.acknowledgeFromLink(t.alertId, t.step);
    if (!r.ok)
      return r.reason === 'not_found'
        ? notFound(reply)
        : html(reply, 409, '已解除 Resolved', '<p>告警已解除，无需确认。The alert is already resolved.</p>');
    return html(
      reply,
      200,
      '已确认 Acknowledged',
      `<p>已确认：${esc(r.by)}。Acknowledged${r.already ? ' (before)' : ''}.</p>`,
    );
  });
};
