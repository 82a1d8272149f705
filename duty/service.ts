// On-duty notification: an alert that a rule sends to a team calls the first person of the district's roster for that
// team through their robot, with a signed link to acknowledge it; nobody acknowledging within the severity's minutes
// calls the next person, and so on down the roster. Acknowledging (the link, or the alert in the console) stops it.
// Messages wait out the severity's quiet hours. Delivery is the notices' way: the page row is the outbox, retried with
// exponential backoff, each message sent once (its idempotency key goes with every attempt).
import type { Alert } from '../alerts/types.js';
import type { Logger } from '../runtime/log.js';
import { exponentialMs } from '../runtime/backoff.js';
import { zoneOffsetMs } from '../runtime/time.js';
import type { DutyConfig } from './config.js';
import { ackToken } from './links.js';
import { sendRobot } from './robot.js';
import { postSms } from '../notices/notifiers/sms-http.js';
import type { DutyStore } from './store.js';
import type { DutyMessage, DutyPage } from './types.js';

export interface DutyAlerts {
  on(event: 'change', f: (a: Alert) => void): unknown;
  off(event: 'change', f: (a: Alert) => void): unknown;
  acknowledge(id: string, by: string, note?: string): Promise<Alert>;
  get(id: string): Promise<Alert | null>;
}

export interface DutyServiceOptions {
  config: DutyConfig;
  store: DutyStore;
  alerts: DutyAlerts;
  /** The key of the acknowledge links (HMAC). */
  linkKey: Buffer;
  logger: Logger;
  /** The clock (tests move it on instead of waiting). */
  now?: () => number;
  /** How often the loop looks for due work. */
  tickMs?: number;
  /** The city's SMS gateway (SMS_GATEWAY_URL, SMS_GATEWAY_TOKEN): without it people are told by robot only. */
  sms?: { url: string; token: string };
}

const MIN = 60_000;

/** When the quiet window of `q` that contains `now` ends (epoch ms), or null when now is not in it. */
export function quietUntil(q: { from: string; to: string } | undefined, now: number, timeZone: string): number | null {
  if (!q) return null;
  const off = zoneOffsetMs(timeZone, now);
  const local = now + off;
  const minuteOfDay = Math.floor((local % 86_400_000) / MIN);
  const hm = (s: string) => Number(s.slice(0, 2)) * 60 + Number(s.slice(3, 5));
  const [from, to] = [hm(q.from), hm(q.to)];
  const inside = from <= to ? minuteOfDay >= from && minuteOfDay < to : minuteOfDay >= from || minuteOfDay < to;
  if (!inside) return null;
  const dayStart = local - (local % 86_400_000);
  const end = dayStart + to * MIN + (minuteOfDay >= to ? 86_400_000 : 0);
  return end - off;
}

export class DutyService {
  private readonly now: () => number;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> = Promise.resolve();
  private readonly log: Logger;
  private readonly listener = (a: Alert) =>
    void this.onAlert(a).catch((e: Error) =>
      this.log.error({ alert: a.id, err: e.message }, 'duty: handling an alert change failed'),
    );

  constructor(private readonly o: DutyServiceOptions) {
    this.now = o.now ?? Date.now;
    this.log = o.logger;
  }

  /** Listens to the alerts and runs the loop. */
  start(): void {
    this.o.alerts.on('change', this.listener);
    this.timer = setInterval(() => void this.tick(), this.o.tickMs ?? 1000);
    this.timer.unref();
  }

  async close(): Promise<void> {
    // A stopped service calls nobody: it no longer hears the alerts.
    this.o.alerts.off('change', this.listener);
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  private rosterFor(a: Alert) {
    const rule = this.o.config.rules.find((r) => r.kinds.includes(a.kind) && r.severities.includes(a.severity));
    if (!rule) return null;
    const roster = this.o.config.rosters.find((r) => r.district === a.district && r.team === rule.team);
    return roster ?? null;
  }

  /** The messages that call the person at `step`: one per channel they have (SMS only with a gateway). */
  private messages(roster: NonNullable<ReturnType<DutyService['rosterFor']>>, step: number, at: number): DutyMessage[] {
    const p = roster.people[step]!;
    const base = {
      step,
      person: { name: p.name, phone: p.phone },
      status: 'pending' as const,
      attempts: 0,
      nextAt: at,
    };
    const out: DutyMessage[] = [];
    if (p.channels.includes('robot')) out.push({ ...base, channel: 'robot', robot: (p.robot ?? roster.robot)! });
    if (p.channels.includes('sms') && this.o.sms) out.push({ ...base, channel: 'sms' });
    // A person with SMS only and no gateway is still told: by the robot.
    if (out.length === 0) out.push({ ...base, channel: 'robot', robot: (p.robot ?? roster.robot)! });
    return out;
  }

  // Every change of a page runs in one chain: an acknowledgement arriving while a message is being sent must not be
  // overwritten by the loop's copy of the page.
  private serial<T>(f: () => Promise<T>): Promise<T> {
    const next = this.running.then(f);
    this.running = next.then(
      () => undefined,
      (e: Error) => this.log.error({ err: e.message }, 'duty: a step failed'),
    );
    return next;
  }

  /** A new firing alert that a rule sends to a team pages its roster; an acknowledged or resolved one stops its page. */
  onAlert(a: Alert): Promise<void> {
    return this.serial(() => this.applyAlert(a));
  }

  private async applyAlert(a: Alert): Promise<void> {
    if (a.state !== 'firing') {
      const page = await this.o.store.get(a.id);
      if (page && !page.acknowledged) {
        const last = [...a.history].reverse().find((h) => h.type === 'acknowledged' || h.type === 'resolved');
        this.acknowledged(page, last?.by ?? 'system', 'console');
        await this.o.store.put(page);
      }
      return;
    }
    const roster = this.rosterFor(a);
    if (!roster) return;
    const now = this.now();
    const page: DutyPage = {
      alertId: a.id,
      district: a.district,
      team: roster.team,
      severity: a.severity,
      createdAt: now,
      step: 0,
      stepSince: now,
      messages: this.messages(roster, 0, now),
      nextAt: now,
    };
    const { created } = await this.o.store.insertIfAbsent(page);
    if (created) {
      this.log.info(
        { alert: a.id, district: a.district, team: roster.team, to: roster.people[0]!.name },
        'duty: calling the person on duty',
      );
      void this.tick();
    }
  }

  private acknowledged(page: DutyPage, by: string, via: 'link' | 'console'): void {
    page.acknowledged = { by, at: this.now(), via };
    // Messages not sent yet are no longer needed: the alert has someone.
    for (const m of page.messages) if (m.status === 'pending') m.status = 'cancelled';
    page.nextAt = null;
    this.log.info({ alert: page.alertId, by, via }, 'duty: acknowledged, no escalation');
  }

  /** The acknowledgement from a message's link: the alert is acknowledged in the person's name. */
  acknowledgeFromLink(
    alertId: string,
    step: number,
  ): Promise<{ ok: true; by: string; already: boolean } | { ok: false; reason: 'not_found' | 'resolved' }> {
    return this.serial(() => this.ackLink(alertId, step));
  }

  private async ackLink(
    alertId: string,
    step: number,
  ): Promise<{ ok: true; by: string; already: boolean } | { ok: false; reason: 'not_found' | 'resolved' }> {
    const page = await this.o.store.get(alertId);
    const m = page?.messages.find((x) => x.step === step);
    if (!page || !m) return { ok: false, reason: 'not_found' };
    if (page.acknowledged) return { ok: true, by: page.acknowledged.by, already: true };
    const by = `${m.person.name}（值班链接）`;
    const alert = await this.o.alerts.get(alertId);
    if (alert?.state === 'resolved') return { ok: false, reason: 'resolved' };
    this.acknowledged(page, by, 'link');
    await this.o.store.put(page);
    if (alert?.state === 'firing') await this.o.alerts.acknowledge(alertId, by, 'acknowledged from the duty message');
    return { ok: true, by, already: false };
  }

  get(alertId: string): Promise<DutyPage | null> {
    return this.o.store.get(alertId);
  }

  /** Sends due messages and calls the next person where nobody acknowledged in time. */
  tick(): Promise<void> {
    return this.serial(() => this.work());
  }

  private async work(): Promise<void> {
    const c = this.o.config;
    for (const page of await this.o.store.due(this.now())) {
      if (page.acknowledged) continue;
      const roster = c.rosters.find((r) => r.district === page.district && r.team === page.team);
      const escalateMs = (c.escalateAfterMinutes[page.severity] ?? 30) * MIN;
      const now = this.now();
      // Nobody took it on in time: the next person, while there is one.
      if (roster && now >= page.stepSince + escalateMs && page.step + 1 < roster.people.length) {
        page.step++;
        page.stepSince = now;
        page.messages.push(...this.messages(roster, page.step, now));
        this.log.warn(
          { alert: page.alertId, step: page.step, to: roster.people[page.step]!.name },
          'duty: not acknowledged in time, calling the next person',
        );
      }
      for (const m of page.messages.filter((x) => x.status === 'pending' && x.nextAt <= now)) {
        const quiet = quietUntil(c.quietHours[page.severity], now, c.timeZone);
        if (quiet !== null) {
          m.nextAt = quiet;
          if (m.step === page.step) page.stepSince = Math.max(page.stepSince, quiet);
          continue;
        }
        await this.send(page, m);
      }
      const pending = page.messages.filter((x) => x.status === 'pending').map((x) => x.nextAt);
      const canEscalate = roster && page.step + 1 < roster.people.length;
      const times = [...pending, ...(canEscalate ? [page.stepSince + escalateMs] : [])];
      page.nextAt = times.length ? Math.min(...times) : null;
      await this.o.store.put(page);
    }
  }

  private async send(page: DutyPage, m: DutyMessage): Promise<void> {
    const c = this.o.config;
    const alert = await this.o.alerts.get(page.alertId);
    const link = `${c.publicBaseUrl.replace(/\/$/, '')}/duty/ack/${ackToken(this.o.linkKey, page.alertId, m.step)}`;
    const name = alert?.name.zh ?? page.alertId;
    const level = alert ? `${alert.metric} ${alert.value}（限值 ${alert.level}）` : '';
    const text = [
      `### 【${SEVERITY_ZH[page.severity]}】${name}`,
      `- 区域：${page.district}　设备：${alert?.deviceId ?? ''}`,
      level && `- 读数：${level}`,
      m.step > 0 ? `- 前一位值班人员 ${page.messages[m.step - 1]?.person.name ?? ''} 未在时限内确认，现转给您` : '',
      `- 请 @${m.person.phone} ${m.person.name} 确认接警：[确认 Acknowledge](${link})`,
    ]
      .filter(Boolean)
      .join('\n');
    m.attempts++;
    const channel = m.channel ?? 'robot';
    const key = `${page.alertId}:${m.step}:${channel}`;
    const r =
      channel === 'sms' && this.o.sms
        ? await postSms(
            { ...this.o.sms, timeoutMs: c.delivery.timeoutMs },
            {
              to: m.person.phone,
              text: `【城市管理值班】${SEVERITY_ZH[page.severity]}：${name}，${page.district} ${alert?.deviceId ?? ''}${level ? `，${level}` : ''}。确认接警：${link}`,
            },
            key,
          )
        : await sendRobot(
            c.robots[m.robot!]!,
            { title: `${SEVERITY_ZH[page.severity]}：${name}`, text, atMobiles: [m.person.phone], idempotencyKey: key },
            { timeoutMs: c.delivery.timeoutMs, now: this.now() },
          );
    if (r.ok) {
      m.status = 'sent';
      m.sentAt = this.now();
      delete m.lastError;
      this.log.info(
        { alert: page.alertId, step: m.step, channel, to: m.person.name, attempts: m.attempts },
        'duty: message sent',
      );
      return;
    }
    m.lastError = r.error;
    if (r.permanent || m.attempts >= c.delivery.attempts) {
      m.status = 'failed';
      this.log.error(
        { alert: page.alertId, step: m.step, to: m.person.name, attempts: m.attempts, err: r.error },
        'duty: message failed for good',
      );
      return;
    }
    m.nextAt = this.now() + exponentialMs(m.attempts, c.delivery.retryBaseMs, c.delivery.retryMaxMs);
    // Once per outage of a message, not per attempt.
    if (m.attempts === 1)
      this.log.warn(
        { alert: page.alertId, step: m.step, err: r.error },
        'duty: the robot did not take the message, retrying',
      );
  }
}

const SEVERITY_ZH: Record<string, string> = { info: '提示', warning: '警告', major: '严重', critical: '紧急' };
