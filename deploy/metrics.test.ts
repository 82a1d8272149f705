// Every metric that an alert rule (deploy/prometheus/rules.yml) or a dashboard (deploy/grafana/dashboards/*.json)
// names is one the platform exports: scraped from a running platform's /metrics (ROLE=all with every part on: the
// Kafka bus of scripts/services, a simulated camera for the vision worker), so a renamed metric fails here instead
// of leaving an alert that can never fire or a panel that stays empty.
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import Kafka from 'node-rdkafka';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadAppConfig } from '../app/config.js';
import { startPlatform, type Platform } from '../app/platform.js';
import { BUS_TOPICS } from '../bus/types.js';
import { silentLogger } from '../runtime/log.js';
import { ADMIN_PASSWORD, ROOT, tmpDir } from '../test/helpers.js';

/** Series Prometheus makes itself, not the platform. */
const PROMETHEUS_OWN = new Set(['up']);
const PROMQL_WORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'inf',
  'nan',
]);

/** The metric names in a PromQL expression: identifiers that are not functions, keywords, label names or values. */
export function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""') // label values, legend strings
    .replace(/\{[^}]*\}/g, '') // label matchers
    .replace(/\[[^\]]*\]/g, '') // ranges and subqueries
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '') // grouping labels
    .replace(/\{\{[^}]*\}\}/g, '');
  const names = [...bare.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\()?/g)].filter((m) => !m[2]).map((m) => m[1]!);
  return names.filter((n) => !PROMQL_WORDS.has(n.toLowerCase()) && !/^\d/.test(n));
}

function ruleExpressions(): { where: string; expr: string }[] {
  const doc = parse(fs.readFileSync(path.join(ROOT, 'deploy/prometheus/rules.yml'), 'utf8')) as {
    groups: { rules: { alert: string; expr: string }[] }[];
  };
  return doc.groups.flatMap((g) => g.rules.map((r) => ({ where: `rules.yml ${r.alert}`, expr: r.expr })));
}

function dashboardExpressions(): { where: string; expr: string }[] {
  const dir = path.join(ROOT, 'deploy/grafana/dashboards');
  return fs.readdirSync(dir).flatMap((f) => {
    const d = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as {
      panels: { title: string; targets: { expr: string }[] }[];
    };
    return d.panels.flatMap((p) => p.targets.map((t) => ({ where: `${f} "${p.title}"`, expr: t.expr })));
  });
}

let p: Platform;
let exported: Set<string>;
const prefix = `metrics${Date.now().toString(36)}${randomUUID().slice(0, 4)}.`;

beforeAll(async () => {
  const cfg = loadAppConfig({
    PORT: '0',
    MQTT_PORT: '0',
    HJ212_PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: tmpDir('metrics'),
    SIM_PER_KIND: '1',
    SIM_DISTRICTS: 'xinhua',
    SIM_CAMERAS: '1',
    ADMIN_PASSWORD,
    KAFKA_BROKERS: process.env.KAFKA_BROKERS!,
    KAFKA_TOPIC_PREFIX: prefix,
    KAFKA_PARTITIONS: '2',
  });
  p = await startPlatform(cfg, silentLogger);
  const text = await (await fetch(`${p.apiUrl}/metrics`)).text();
  exported = new Set();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const [name, type] = [m[1]!, m[2]!];
    exported.add(name);
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) exported.add(name + s);
    if (type === 'summary') for (const s of ['_sum', '_count']) exported.add(name + s);
  }
}, 180_000);

afterAll(async () => {
  await p?.stop();
  const admin = Kafka.AdminClient.create({
    'metadata.broker.list': process.env.KAFKA_BROKERS!,
    'client.id': 'metrics-test-cleanup',
  });
  await Promise.all(BUS_TOPICS.map((t) => new Promise<void>((r) => admin.deleteTopic(prefix + t, 10_000, () => r()))));
  admin.disconnect();
}, 60_000);

describe('metric names in the alert rules and dashboards', () => {
  it('reads metric names out of PromQL', () => {
    expect(
      metricNames('sum by (instance, le) (rate(ingest_batch_write_seconds_bucket{job="ingest"}[10m])) > 2'),
    ).toEqual(['ingest_batch_write_seconds_bucket']);
    expect(metricNames('disk_free_bytes / disk_size_bytes < 0.10 and on(instance) up == 1')).toEqual([
      'disk_free_bytes',
      'disk_size_bytes',
      'up',
    ]);
  });

  it('the platform exports every metric the rules and the dashboards name', () => {
    const uses = [...ruleExpressions(), ...dashboardExpressions()];
    expect(uses.length).toBeGreaterThan(40);
    const missing = uses.flatMap(({ where, expr }) =>
      metricNames(expr)
        .filter((n) => !exported.has(n) && !PROMETHEUS_OWN.has(n))
        .map((n) => `${n} (${where})`),
    );
    expect(missing).toEqual([]);
  });

  it('every dashboard uses the provisioned data source', () => {
    const ds = parse(
      fs.readFileSync(path.join(ROOT, 'deploy/grafana/provisioning/datasources/prometheus.yml'), 'utf8'),
    ) as { datasources: { uid: string }[] };
    const uid = ds.datasources[0]!.uid;
    const dir = path.join(ROOT, 'deploy/grafana/dashboards');
    for (const f of fs.readdirSync(dir)) {
      const d = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as {
        uid: string;
        panels: { datasource: { uid: string } }[];
      };
      expect(d.uid, f).toMatch(/^city-/);
      for (const panel of d.panels) expect(panel.datasource.uid, f).toBe(uid);
    }
  });
});
