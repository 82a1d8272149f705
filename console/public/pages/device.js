// @ts-check
// Staff: one device — its status, a chart of recent readings of one metric with the threshold lines of the rules
// that apply to it (day and night limits drawn as they change), and its recent alerts.
import { lineChart } from '../chart.js';
import { pick, t } from '../i18n.js';
import { KIND_METRICS, UNITS, api, badge, errorText, fmtAgo, fmtNum, fmtTime, h, qs, select, toast } from '../lib.js';

/** @typedef {import('./alerts.js').AlertView} AlertView */
/** @typedef {import('./devices.js').DeviceListItem} DeviceListItem */
/** @typedef {number | { day: number, night: number }} Level a limit, or one for the day and one for the night */
/** @typedef {{ severity: string, label?: string, level: Level }} Tier */
/** @typedef {{ id: string, name: { zh: string, en: string }, standard: string, metric: string, period?: 'day' | 'night', tiers: Tier[], aggregate?: { fn: string, windowS: number } }} Rule */
/** The rules that apply to a device (`GET /api/rules?device=`, console/rules-route.ts). */
/** @typedef {{ timezone: string, day: { start: string, end: string }, rules: Rule[] }} RulesAnswer */

/** @type {Readonly<Record<string, number>>} */
const RANGES = { '1h': 3600e3, '6h': 6 * 3600e3, '24h': 24 * 3600e3, '7d': 7 * 24 * 3600e3 };
/** @type {{ range: string, metric: Record<string, string> }} */
const saved = { range: '24h', metric: {} };

/** Is `ts` in the day period of the rules file (local time in its zone)? */
/** @param {RulesAnswer} rules */
function dayChecker(rules) {
  const fmt = new Intl.DateTimeFormat('en-GB', {
    timeZone: rules.timezone,
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  });
  const { start, end } = rules.day;
  return (/** @type {number} */ ts) => {
    const hm = fmt.format(ts);
    return start <= end ? hm >= start && hm < end : hm >= start || hm < end;
  };
}

const levelText = (/** @type {Level} */ level) =>
  typeof level === 'number'
    ? fmtNum(level)
    : `${t('devices.day')} ${fmtNum(level.day)} / ${t('devices.night')} ${fmtNum(level.night)}`;

/**
 * The threshold lines of `metric`: one per tier of each rule, its level at any time.
 * @param {string} metric
 * @param {RulesAnswer} rules
 */
function thresholdsFor(metric, rules) {
  const isDay = dayChecker(rules);
  /** @type {(import('../chart.js').Threshold & { rule: Rule, tier: Tier })[]} */
  const out = [];
  for (const r of rules.rules.filter((x) => x.metric === metric)) {
    for (const tier of r.tiers) {
      const level = tier.level;
      const at = (/** @type {number} */ ts) => {
        const day = isDay(ts);
        if ((r.period === 'day' && !day) || (r.period === 'night' && day)) return null;
        return typeof level === 'number' ? level : day ? level.day : level.night;
      };
      out.push({
        rule: r,
        tier,
        at,
        severity: tier.severity,
        label: `${t(`severity.${tier.severity}`)} ${typeof level === 'number' ? fmtNum(level) : ''}`.trim(),
      });
    }
  }
  return out;
}

const windowText = (/** @type {number} */ sec) =>
  sec >= 3600 ? `${sec / 3600} h` : sec >= 60 ? `${sec / 60} min` : `${sec} s`;

/** @param {import('../app.js').PageContext} ctx */
export async function render(ctx) {
  const id = ctx.params.id;
  /** @type {DeviceListItem[]} */
  const devices = await api('/api/devices');
  const device = devices.find((d) => d.deviceId === id);
  if (!device)
    return {
      el: h(
        'div.page',
        h('p', h('a', { href: '#/devices' }, t('devices.back'))),
        h('p.error', t('devices.unknown', { id })),
      ),
    };

  /** @type {[RulesAnswer, { items: AlertView[] }]} */
  const [rules, alerts] = await Promise.all([
    api(`/api/rules${qs({ device: id, district: device.district, kind: device.kind })}`),
    api(`/api/alerts${qs({ device: id, limit: 20 })}`).catch(() => ({ items: [] })),
  ]);
  const ruleMetrics = [...new Set(rules.rules.map((r) => r.metric))];
  const metrics = KIND_METRICS[device.kind] ?? ruleMetrics;
  let metric = saved.metric[device.kind] ?? ruleMetrics[0] ?? metrics[0];
  let range = saved.range;

  const chartBox = h('div.chart-box');
  const info = h('div.chart-info');
  const tabs = h('div.tabs');

  async function draw() {
    tabs.replaceChildren(
      ...metrics.map((mt) =>
        h(
          'button.tab',
          {
            type: 'button',
            class: mt === metric ? 'active' : '',
            'data-metric': mt,
            onclick: () => ((metric = saved.metric[/** @type {DeviceListItem} */ (device).kind] = mt), void draw()),
          },
          t(`metric.${mt}`),
          ruleMetrics.includes(mt) ? h('span.dot-rule', { title: t('devices.thresholds') }, ' •') : null,
        ),
      ),
    );
    chartBox.replaceChildren(h('p.muted', t('common.loading')));
    const to = Date.now();
    const from = to - RANGES[range];
    let res;
    try {
      res = await api(`/api/readings${qs({ device: id, metric, from, to: to + 60_000, limit: 100000 })}`);
    } catch (e) {
      chartBox.replaceChildren(h('p.error', errorText(e)));
      return;
    }
    /** @type {[number, number][]} */
    const points = [];
    for (const r of res.readings) {
      const v = r.metrics[metric];
      if (typeof v === 'number') points.push([Date.parse(r.ts), v]);
    }
    const ths = thresholdsFor(metric, rules);
    const bands = alerts.items
      .filter(
        /** @type {(a: AlertView) => a is AlertView & { expected: { model: string, low: number, high: number } }} */ (
          (a) =>
            a.category === 'anomaly' &&
            a.metric === metric &&
            !!a.expected &&
            typeof a.expected.low === 'number' &&
            typeof a.expected.high === 'number'
        ),
      )
      .map((a) => ({
        from: Date.parse(a.firstSeen),
        to: a.resolvedAt ? Date.parse(a.resolvedAt) : to,
        low: a.expected.low,
        high: a.expected.high,
        label: t('devices.expectedBand', {
          model: t(`anomaly.model.${a.expected.model}`),
          low: fmtNum(a.expected.low, 2),
          high: fmtNum(a.expected.high, 2),
        }),
      }));
    chartBox.replaceChildren(lineChart({ points, thresholds: ths, bands, from, to, unit: UNITS[metric] ?? '' }));
    if (!points.length) chartBox.append(h('p.muted.center', t('devices.noReadings')));
    info.replaceChildren(
      h('div.muted.small', t('devices.readings', { n: points.length })),
      ths.length
        ? h(
            'ul.rules',
            [...new Set(ths.map((x) => x.rule))].map((r) =>
              h(
                'li',
                h('strong', pick(r.name)),
                ': ',
                r.tiers
                  .map(
                    (tier) =>
                      `${t(`severity.${tier.severity}`)}${tier.label ? ` (${tier.label})` : ''} ${levelText(tier.level)}`,
                  )
                  .join('; '),
                ` ${UNITS[metric] ?? ''}`,
                h('div.muted.small', r.standard),
                r.aggregate && r.aggregate.fn !== 'last'
                  ? h(
                      'div.muted.small',
                      t('devices.thresholdNote', {
                        fn: t(`agg.${r.aggregate.fn}`),
                        window: windowText(r.aggregate.windowS),
                      }),
                    )
                  : null,
              ),
            ),
          )
        : h('p.muted.small', t('devices.thresholdNone')),
    );
  }

  const el = h(
    'div.page.device',
    h('p', h('a', { href: '#/devices' }, t('devices.back'))),
    h(
      'div.page-head',
      h('h1', id),
      h('span.muted', `${device.district} · ${t(`kind.${device.kind}`)}`),
      device.online ? badge('online', t('devices.online')) : badge('offline', t('devices.offline')),
      h('span.muted', { title: fmtTime(device.lastSeen) }, `${t('devices.lastSeen')}: ${fmtAgo(device.lastSeen)}`),
    ),
    h(
      'div.filters',
      tabs,
      select(
        'range',
        range,
        Object.keys(RANGES).map((r) => ({ value: r, label: `${t('devices.range')}: ${t(`devices.range.${r}`)}` })),
        (v) => {
          range = saved.range = v;
          void draw().catch((e) => toast(errorText(e), 'error'));
        },
      ),
    ),
    chartBox,
    info,
    h('h2', t('devices.recentAlerts')),
    alerts.items.length
      ? h(
          'table.list.compact',
          h(
            'tbody',
            alerts.items.map((a) =>
              h(
                'tr',
                h('td', badge(`sev-${a.severity}`, t(`severity.${a.severity}`))),
                h(
                  'td',
                  pick(a.name),
                  a.expected && typeof a.expected.low === 'number'
                    ? h(
                        'div.muted.small',
                        t('devices.expectedBand', {
                          model: t(`anomaly.model.${a.expected.model}`),
                          low: fmtNum(a.expected.low, 2),
                          high: fmtNum(a.expected.high, 2),
                        }),
                      )
                    : null,
                ),
                h('td', badge(`st-${a.state}`, t(`alerts.state.${a.state}`))),
                h('td', fmtTime(a.firstSeen)),
              ),
            ),
          ),
        )
      : h('p.muted', t('common.empty')),
  );
  await draw();
  return { el };
}
