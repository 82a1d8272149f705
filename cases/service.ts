// The case service: files cases (from confirmed events and case-worthy alerts) into the case store with their
// pending delivery, and runs the dispatcher that delivers them. One instance per platform, beside the API and the
// alert service (ROLE=all or ROLE=api): it is the one writer of $DATA_DIR/cases.duckdb.
import path from 'node:path';
import type { Registry } from 'prom-client';
import { z } from 'zod';
import type { AlertManager } from '../alerts/manager.js';
import type { Alert } from '../alerts/types.js';
import type { Bus } from '../bus/types.js';
import { ConfigError, parseConfig } from '../runtime/config.js';
import type { Logger } from '../runtime/log.js';
import type { Notice } from '../notices/types.js';
import type { StoredEvent } from '../review/store.js';
import { InboxAdapter, WebhookAdapter, type CaseAdapter } from './adapters.js';
import { caseFromAlert, caseFromEvent, type BuildOptions, type DevicePlace } from './builder.js';
import { loadCaseCodes, type CaseCodes } from './codes.js';
import { Dispatcher } from './dispatcher.js';
import { CaseEnvSchema } from './env.js';
import { CaseStore, type CaseQuery, type InboxItem } from './store.js';
import type { CaseDoc, CaseView } from './types.js';

/** Options of the case service; `caseConfigFromEnv` maps the environment onto them. */
export const CaseConfigSchema = z
  .strictObject({
    /** The case store, normally $DATA_DIR/cases.duckdb. */
    file: z.string().min(1),
    /** The classification table. */
    codesFile: z.string().min(1).default('config/case-codes.json'),
    /** The city's case system; without it cases go to the built-in inbox. */
    webhookUrl: z
      .url({ protocol: /^https?$/, message: 'must be an http(s) URL such as https://cases.example.gov.cn/hook' })
      .optional(),
    /** HMAC key of X-Signature; required with webhookUrl. */
    webhookSecret: z
      .string()
      .min(16, 'at least 16 characters (it is the key the receiver checks signatures with)')
      .optional(),
    /** Bound on one delivery attempt. */
    timeoutMs: z.number().int().min(100).max(300_000).default(10_000),
    /** First retry after about this long, doubling per failed attempt... */
    retryBaseMs: z.number().int().min(1).max(600_000).default(1000),
    /** ...up to this interval. */
    retryMaxMs: z.number().int().min(1).max(3_600_000).default(60_000),
    /** Makes evidence URLs in cases absolute, for a case system that fetches them. */
    evidenceBaseUrl: z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' }).optional(),
    /** For the local date in case ids. */
    timeZone: z
      .string()
      .refine((tz) => {
        try {
          new Intl.DateTimeFormat('en', { timeZone: tz });
          return true;
        } catch {
          return false;
        }
      }, 'not a time zone (IANA name such as Asia/Shanghai)')
      .default('Asia/Shanghai'),
  })
  .superRefine((c, ctx) => {
    if (c.webhookUrl && !c.webhookSecret) {
      ctx.addIssue({
        code: 'custom',
        path: ['webhookSecret'],
        message: 'CASE_WEBHOOK_SECRET is required with CASE_WEBHOOK_URL: the receiver checks X-Signature with it',
      });
    }
    if (c.retryBaseMs > c.retryMaxMs)
      ctx.addIssue({ code: 'custom', path: ['retryBaseMs'], message: 'must not exceed retryMaxMs' });
  });
export type CaseConfig = z.output<typeof CaseConfigSchema>;
export type CaseConfigInput = z.input<typeof CaseConfigSchema>;

// In its own module so that the app's config can read it without loading the case service (and DuckDB) in every role.
export { CaseEnvSchema } from './env.js';

/**
 * Maps the environment (process.env, or the app config holding the same names) to the case service's config; a
 * mistake is a ConfigError naming the variable.
 */
export function caseConfigFromEnv(env: Readonly<Record<string, unknown>>, dataDir: string): CaseConfig {
  const e = parseConfig(
    CaseEnvSchema,
    Object.fromEntries(Object.keys(CaseEnvSchema.shape).map((k) => [k, env[k]])),
    'the environment',
  );
  const v = (s: string | undefined) => (s === undefined || s.trim() === '' ? undefined : s.trim());
  const input: Record<string, unknown> = {
    file: path.join(dataDir, 'cases.duckdb'),
    codesFile: v(e.CASE_CODES_FILE),
    webhookUrl: v(e.CASE_WEBHOOK_URL),
    webhookSecret: v(e.CASE_WEBHOOK_SECRET),
    timeoutMs: e.CASE_WEBHOOK_TIMEOUT_MS,
    retryBaseMs: e.CASE_RETRY_BASE_MS,
    retryMaxMs: e.CASE_RETRY_MAX_MS,
    evidenceBaseUrl: v(e.CASE_EVIDENCE_BASE_URL),
  };
  for (const k of Object.keys(input)) if (input[k] === undefined) delete input[k];
  const names: Record<string, string> = {
    codesFile: 'CASE_CODES_FILE',
    webhookUrl: 'CASE_WEBHOOK_URL',
    webhookSecret: 'CASE_WEBHOOK_SECRET',
    timeoutMs: 'CASE_WEBHOOK_TIMEOUT_MS',
    retryBaseMs: 'CASE_RETRY_BASE_MS',
    retryMaxMs: 'CASE_RETRY_MAX_MS',
    evidenceBaseUrl: 'CASE_EVIDENCE_BASE_URL',
  };
  const r = CaseConfigSchema.safeParse(input);
  if (r.success) return r.data;
  // Name the variable, not the option: that is what the user sets.
  const lines = r.error.issues.map(
    (i) => `  - ${names[String(i.path[0])] ?? String(i.path[0] ?? '(root)')}: ${i.message}`,
  );
  throw new ConfigError(`invalid configuration in the environment:\n${lines.join('\n')}`);
}

export interface CaseServiceOptions {
  config: CaseConfigInput;
  logger: Logger;
  /** Cases are published on the bus topic `cases`. */
  bus?: Bus;
  registry?: Registry;
  /** Where a sensor is (grid cell, location), for cases from its alerts; unknown when absent. */
  devicePlace?: (deviceId: string) => DevicePlace | null | undefined;
  /** For tests: the jitter of the backoff. */
  random?: () => number;
  /** For tests and tools: leave the dispatcher stopped (cases are filed and wait in the outbox). */
  dispatch?: boolean;
}

export class CaseService {
  private alertListener: ((a: Alert) => void) | null = null;
  private alertManager: AlertManager | null = null;

  private constructor(
    readonly store: CaseStore,
    readonly adapter: CaseAdapter,
    readonly dispatcher: Dispatcher,
    readonly codes: CaseCodes,
    private readonly build: BuildOptions,
    private readonly o: CaseServiceOptions,
  ) {}

  static async open(o: CaseServiceOptions): Promise<CaseService> {
    const config = parseConfig(CaseConfigSchema, o.config, 'case dispatch options');
    const codes = loadCaseCodes(config.codesFile);
    const store = await CaseStore.open(config.file);
    const adapter: CaseAdapter = config.webhookUrl
      ? new WebhookAdapter({ url: config.webhookUrl, secret: config.webhookSecret!, timeoutMs: config.timeoutMs })
      : new InboxAdapter(store);
    const dispatcher = new Dispatcher({
      store,
      adapter,
      bus: o.bus,
      logger: o.logger,
      retryBaseMs: config.retryBaseMs,
      retryMaxMs: config.retryMaxMs,
      registry: o.registry,
      random: o.random,
    });
    const build: BuildOptions = { codes, evidenceBaseUrl: config.evidenceBaseUrl, timeZone: config.timeZone };
    const s = new CaseService(store, adapter, dispatcher, codes, build, o);
    if (o.dispatch !== false) dispatcher.start();
    o.logger.info({ adapter: adapter.name, target: adapter.target, file: config.file }, 'case dispatch ready');
    return s;
  }

  private async file(doc: CaseDoc): Promise<{ case: CaseView; created: boolean }> {
    const r = await this.store.insert(doc, this.adapter.name);
    if (r.sameActAs) {
      this.o.logger.info(
        { source: doc.source, case: r.sameActAs },
        'no second case: the same vehicle, zone and stay already has this case (one act, one case)',
      );
    }
    if (r.created) {
      this.o.logger.info(
        { case: r.case.id, source: r.case.source, code: r.case.code, district: r.case.district },
        'case filed',
      );
      this.dispatcher.kick();
    }
    return r;
  }

  /**
   * Files the case of a confirmed event (idempotent: the same event gives the same case), with the notice that came
   * before it when there was one (its re-check images join the evidence). For an event of the same act as a case
   * filed before (the same vehicle, zone and stay), that case: one act, one case.
   */
  async fileEvent(s: StoredEvent, notice?: Notice): Promise<CaseView> {
    return (await this.file(caseFromEvent(s, this.build, notice))).case;
  }

  /** Files the case of a case-worthy alert; null for an alert that is not case-worthy. Idempotent by alert id. */
  async fileAlert(a: Alert): Promise<CaseView | null> {
    const doc = caseFromAlert(a, this.build, this.o.devicePlace?.(a.deviceId));
    if (!doc) return null;
    const r = await this.file(doc);
    if (r.created && doc.code === null) {
      this.o.logger.warn(
        { rule: a.ruleId, case: doc.id },
        'case-worthy rule without a classification code: set caseCode in the rules file or add the rule to the case codes file',
      );
    } else if (r.created && doc.code && !this.codes.codes[doc.code]) {
      this.o.logger.warn(
        { rule: a.ruleId, code: doc.code, case: doc.id },
        'the case code of this rule is not in the case codes file',
      );
    }
    return r.case;
  }

  /**
   * Files cases for case-worthy alerts as they fire (listening to the alert manager in this process), and at once
   * for those that are open, or fired since the case store was created, without a case yet (a crash between the
   * alert and its case, or alerts that fired while the case service was not running).
   */
  async watchAlerts(manager: AlertManager): Promise<number> {
    this.unwatchAlerts();
    const eligible = (a: Alert) => a.caseWorthy && (a.state !== 'resolved' || a.firstSeen >= this.store.since);
    this.alertListener = (a) => {
      if (!eligible(a)) return;
      this.fileAlert(a).catch((e: Error) =>
        this.o.logger.error(
          { alert: a.id, err: e.message },
          'filing the case of an alert failed; it is retried at the next start',
        ),
      );
    };
    this.alertManager = manager;
    manager.on('change', this.alertListener);
    const { items } = await manager.list({ limit: 5000 });
    const candidates = items.filter(eligible);
    const have = await this.store.sourcesWithCase(
      'alert',
      candidates.map((a) => a.id),
    );
    let filed = 0;
    for (const a of candidates) {
      if (have.has(a.id)) continue;
      await this.fileAlert(a);
      filed++;
    }
    if (filed) this.o.logger.info({ filed }, 'cases filed for case-worthy alerts that had none');
    return filed;
  }

  unwatchAlerts(): void {
    if (this.alertManager && this.alertListener) this.alertManager.off('change', this.alertListener);
    this.alertManager = null;
    this.alertListener = null;
  }

  get(id: string): Promise<CaseView | null> {
    return this.store.get(id);
  }

  list(q: CaseQuery): Promise<{ items: CaseView[]; total: number }> {
    return this.store.list(q);
  }

  /** What the built-in inbox received (empty when a webhook is configured). */
  inbox(limit: number, offset = 0): Promise<{ items: InboxItem[]; total: number }> {
    return this.store.inboxList(limit, offset);
  }

  /** Puts a failed case back in the outbox (after the cause was fixed). False when it is not a failed case. */
  async requeue(id: string): Promise<boolean> {
    const ok = await this.store.requeue(id, Date.now());
    if (ok) this.dispatcher.kick();
    return ok;
  }

  async close(): Promise<void> {
    this.unwatchAlerts();
    await this.dispatcher.close();
    await this.store.close();
  }
}
