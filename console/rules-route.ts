// The alert rules as the console needs them to draw threshold lines on a device's chart: the rules file (the same
// one the detectors use, re-read when it changes) and, for one device, the rules that apply to it, chosen the way
// the detectors choose them (a group's rule replaces the ungrouped rule for the same metric).
import fs from 'node:fs';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { described, Failure, useZodSchemas } from '../api/schemas.js';
import { IdSchema, SensorKindSchema } from '../contracts/index.js';
import { loadRules } from '../analytics/service.js';
import type { Rule, RulesFile } from '../analytics/rules/schema.js';
import type { Logger } from '../runtime/log.js';

const glob = (p: string) => new RegExp(`^${p.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*')}$`);

/** The rules of `file` that apply to one device (same choice as analytics/rules/engine.ts). */
export function rulesForDevice(file: RulesFile, d: { deviceId: string; district: string; kind: string }): Rule[] {
  const inGroup = (name: string) => {
    const g = file.groups[name];
    return !!g && (g.devices.some((p) => glob(p).test(d.deviceId)) || g.districts.includes(d.district));
  };
  const all = file.rules.filter((r) => r.kind === d.kind);
  const grouped = all.filter((r) => r.group && inGroup(r.group));
  const key = (r: Rule) => `${r.metric}|${r.period}|${r.when?.metric ?? ''}`;
  const covered = new Set(grouped.map(key));
  return [...grouped, ...all.filter((r) => !r.group && !covered.has(key(r)))];
}

const RulesQuery = z
  .strictObject({ device: IdSchema.optional(), district: IdSchema.optional(), kind: SensorKindSchema.optional() })
  .refine(
    (q) => !q.device || (q.district && q.kind),
    'device needs district and kind too (as /api/devices gives them)',
  );

export interface RulesRouteOptions {
  rulesFile: string;
  logger: Logger;
}

/**
 * `GET /api/rules` → `{timezone, day, groups, rules}` (the rules file without the health and anomaly settings);
 * `GET /api/rules?device=ID&district=D&kind=K` → the same with only the rules that apply to that device.
 */
// What the answer holds, for the OpenAPI document (answers are sent as built: api/schemas.ts); docs/rules.md has a rule's fields.
const Rules = z.looseObject({
  timezone: z.string(),
  day: z.looseObject({ start: z.string(), end: z.string() }),
  groups: z.record(z.string(), z.looseObject({})),
  rules: z.array(z.looseObject({ id: z.string(), kind: z.string(), metric: z.string() })),
});

export const rulesRoutes: FastifyPluginAsyncZod<RulesRouteOptions> = async (app, o) => {
  useZodSchemas(app, 'query');
  let cached: { mtimeMs: number; rules: RulesFile } | null = null;
  const current = (): RulesFile => {
    const mtimeMs = fs.statSync(o.rulesFile, { throwIfNoEntry: false })?.mtimeMs ?? -1;
    if (cached && cached.mtimeMs === mtimeMs) return cached.rules;
    try {
      cached = { mtimeMs, rules: loadRules(o.rulesFile) };
    } catch (e) {
      // A file being edited may be broken for a moment: keep serving the last good rules, as the detectors do.
      if (!cached) throw e;
      o.logger.warn(
        { file: o.rulesFile, err: (e as Error).message },
        'rules file unreadable; serving the previous rules',
      );
    }
    return cached.rules;
  };
  current();

  app.get(
    '/api/rules',
    {
      schema: {
        tags: ['console'],
        summary: 'The alert rules, of one kind, or those that apply to one device',
        querystring: RulesQuery,
        response: { 200: Rules, 400: Failure },
      },
    },
    async (req) => {
      const q = req.query;
      const file = current();
      const rules = q.device
        ? rulesForDevice(file, { deviceId: q.device, district: q.district!, kind: q.kind! })
        : q.kind
          ? file.rules.filter((r) => r.kind === q.kind)
          : file.rules;
      return described(Rules, { timezone: file.timezone, day: file.day, groups: file.groups, rules });
    },
  );
};
