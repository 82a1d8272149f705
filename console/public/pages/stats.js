// @ts-check
// Statistics (统计): counts and rates over a period by district, grid cell, device, site or type (GET /api/stats),
// as a chart and a table, their export (CSV, Excel) and the printable reports; for staff, also the 15-minute
// aggregates of several devices' readings (Leq for sound levels, the mean otherwise) in one chart to zoom in.
// Charts are uPlot's, served by the platform from node_modules (/console/vendor/uplot.js).
import { getLang, tOr } from '../i18n.js';
import { api, errorText, fmtNum, h, KIND_METRICS, qs, toast, UNITS } from '../lib.js';

/**
 * One group's counts as `GET /api/stats` answers them (stats/stats.ts; the part this page reads).
 * @typedef {object} StatsRow
 * @property {string} key
 * @property {string} [district]
 * @property {{ raised: number }} alerts
 * @property {number} exceedanceHours
 * @property {{ detected: number, confirmed: number, rejected: number, rejectReasons: Record<string, number> }} events
 * @property {{ sent: number, correctedAfterNotice: number }} notices
 * @property {{ filed: number, delivered: number }} cases
 * @property {{ confirmed: number | null }} rates
 */
/** @typedef {{ group: string, rows: StatsRow[], total: StatsRow }} Stats */
/** @typedef {typeof import('/console/vendor/uplot.js')} UPlot */

/** @type {Record<string, Record<string, any>>} */
const TEXT = {
  'zh-CN': {
    title: '统计',
    from: '开始日期',
    to: '结束日期',
    group: '分组',
    apply: '统计',
    csv: '导出 CSV',
    xlsx: '导出 Excel',
    reports: '报表（PDF）',
    daily: '日报',
    weekly: '周报',
    monthly: '月报',
    'g.district': '区域',
    'g.grid': '网格',
    'g.device': '设备',
    'g.site': '点位/单位',
    'g.type': '类型',
    key: '分组',
    district: '区域',
    alerts: '告警',
    hours: '超标小时',
    detected: '发现事件',
    confirmed: '确认',
    rejected: '驳回',
    told: '已告知',
    corrected: '告知后整改',
    filed: '立案',
    delivered: '已推送',
    rate: '确认率',
    total: '合计',
    unknown: '未登记',
    chartGroups: '告警与发现事件',
    seriesAlerts: '告警',
    seriesEvents: '发现事件',
    readings: '监测数据（15 分钟聚合）',
    kind: '类型',
    devices: '设备',
    draw: '绘制',
    zoomHint: '在图上拖动可放大，双击复原。',
    leq: '15 分钟 Leq',
    mean: '15 分钟均值',
    noDevices: '没有此类设备',
    none: '此期间无数据',
    reasons: { 'false-detection': '误报', permitted: '已许可', duplicate: '重复', other: '其他' },
  },
  en: {
    title: 'Statistics',
    from: 'From',
    to: 'To',
    group: 'Group by',
    apply: 'Count',
    csv: 'Export CSV',
    xlsx: 'Export Excel',
    reports: 'Reports (PDF)',
    daily: 'Daily',
    weekly: 'Weekly',
    monthly: 'Monthly',
    'g.district': 'District',
    'g.grid': 'Grid cell',
    'g.device': 'Device',
    'g.site': 'Site',
    'g.type': 'Type',
    key: 'Group',
    district: 'District',
    alerts: 'Alerts',
    hours: 'Hours over limit',
    detected: 'Events found',
    confirmed: 'Confirmed',
    rejected: 'Rejected',
    told: 'Told',
    corrected: 'Corrected after notice',
    filed: 'Cases filed',
    delivered: 'Delivered',
    rate: 'Confirmed rate',
    total: 'Total',
    unknown: 'unregistered',
    chartGroups: 'Alerts and events found',
    seriesAlerts: 'Alerts',
    seriesEvents: 'Events found',
    readings: 'Readings (15-minute aggregates)',
    kind: 'Kind',
    devices: 'Devices',
    draw: 'Draw',
    zoomHint: 'Drag on the chart to zoom in, double-click to zoom out.',
    leq: '15-min Leq',
    mean: '15-min mean',
    noDevices: 'No devices of this kind',
    none: 'No data in this period',
    reasons: { 'false-detection': 'false detection', permitted: 'permitted', duplicate: 'duplicate', other: 'other' },
  },
};
/** @returns {string} */
const tx = (/** @type {string} */ k) => (TEXT[getLang()] ?? TEXT['zh-CN'])[k] ?? TEXT['zh-CN'][k] ?? k;

const GROUPS = ['district', 'grid', 'device', 'site', 'type'];
const COLOURS = ['#2f6fb0', '#c98a00', '#2e8b57', '#c8102e', '#7b4fa0', '#00838f'];
const BUCKET_MS = 15 * 60_000;
/** Sound levels are averaged as energy (Leq), the way the noise rules judge them; other metrics arithmetically. */
const isLevel = (/** @type {string} */ metric) => metric.endsWith('_db');

const day = (/** @type {number} */ ms) => {
  const d = new Date(ms);
  const p = (/** @type {number} */ n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
};
/** Local midnight of a YYYY-MM-DD (the browser is in the city's zone). */
const midnight = (/** @type {string} */ s) => new Date(`${s}T00:00:00`).getTime();

/** @type {UPlot | null} */
let uPlotModule = null;
/** uPlot and its stylesheet, loaded once when a chart is first drawn. */
/** @returns {Promise<UPlot>} */
async function loadUPlot() {
  if (!uPlotModule) {
    if (!document.querySelector('link[data-uplot]')) {
      document.head.append(
        h('link', { rel: 'stylesheet', href: '/console/vendor/uplot.css', 'data-uplot': '' }),
        h('link', { rel: 'stylesheet', href: '/console/pages/stats.css' }),
      );
    }
    uPlotModule = (await import('/console/vendor/uplot.js')).default;
  }
  return uPlotModule;
}

/** 15-minute aggregates of [ts, value] points: Leq (10·log10 of the mean energy) for levels, else the mean. */
/**
 * @param {[number, number][]} points
 * @param {string} metric
 * @returns {Map<number, number>}
 */
export function aggregate15(points, metric) {
  /** @type {Map<number, { sum: number, n: number }>} */
  const buckets = new Map();
  for (const [ts, v] of points) {
    const b = Math.floor(ts / BUCKET_MS) * BUCKET_MS;
    const acc = buckets.get(b) ?? { sum: 0, n: 0 };
    acc.sum += isLevel(metric) ? 10 ** (v / 10) : v;
    acc.n++;
    buckets.set(b, acc);
  }
  return new Map([...buckets].map(([b, a]) => [b, isLevel(metric) ? 10 * Math.log10(a.sum / a.n) : a.sum / a.n]));
}

/** A group's value as people read it: event types and sensor kinds in the console's words, ids as they are. */
const groupLabel = (/** @type {string} */ group, /** @type {string} */ key) =>
  !key ? tx('unknown') : group === 'type' ? tOr(`review.type.${key}`, tOr(`kind.${key}`, key)) : key;

/** @param {import('../app.js').PageContext} ctx */
export async function render(ctx) {
  const now = Date.now();
  const q = ctx.query ?? {};
  const state = {
    from: q.from ?? day(now - 6 * 86_400_000),
    to: q.to ?? day(now),
    group: GROUPS.includes(q.group ?? '') ? (q.group ?? 'district') : 'district',
  };
  const fromInput = h('input', { type: 'date', name: 'from', value: state.from, 'data-test': 'from' });
  const toInput = h('input', { type: 'date', name: 'to', value: state.to, 'data-test': 'to' });
  const groupSelect = h(
    'select',
    { name: 'group', 'data-test': 'group' },
    GROUPS.map((g) => h('option', { value: g, selected: g === state.group }, tx(`g.${g}`))),
  );
  const links = h('div.stats-links');
  const chartBox = h('div.stats-chart', { 'data-test': 'group-chart' });
  const table = h('table.list.stats-table', { 'data-test': 'stats-table' });
  const readingsBox = h('section.stats-readings');

  /** The API's period: from the first day's midnight to the midnight after the last day. */
  const period = () => ({
    from: new Date(midnight(state.from)).toISOString(),
    to: new Date(midnight(state.to) + 86_400_000).toISOString(),
  });

  function drawLinks() {
    const p = { group: state.group, ...period() };
    links.replaceChildren(
      h('a.button', { href: `/api/export/stats.csv${qs(p)}`, download: '', 'data-test': 'export-csv' }, tx('csv')),
      h('a.button', { href: `/api/export/stats.xlsx${qs(p)}`, download: '', 'data-test': 'export-xlsx' }, tx('xlsx')),
      h('span.muted', tx('reports')),
      ...['daily', 'weekly', 'monthly'].map((k) =>
        h(
          'a.button',
          { href: `/api/reports/${k}.pdf${qs({ date: state.to })}`, target: '_blank', 'data-test': `report-${k}` },
          tx(k),
        ),
      ),
    );
  }

  const reasons = (/** @type {StatsRow} */ r) =>
    Object.entries(r.events.rejectReasons)
      .map(([k, n]) => `${TEXT[getLang()]?.reasons?.[k] ?? k} ${n}`)
      .join(', ');
  const pct = (/** @type {number | null | undefined} */ v) =>
    v === null || v === undefined ? '—' : `${fmtNum(v * 100, 1)}%`;

  function row(/** @type {StatsRow} */ r, /** @type {string} */ label, total = false) {
    return h(
      `tr${total ? '.total' : ''}`,
      { 'data-key': total ? '' : r.key, 'data-test': total ? 'total-row' : 'row' },
      h('td', label),
      h('td', r.district ?? ''),
      h('td.num', { 'data-col': 'alerts' }, String(r.alerts.raised)),
      h('td.num', { 'data-col': 'hours' }, fmtNum(r.exceedanceHours, 1)),
      h('td.num', { 'data-col': 'detected' }, String(r.events.detected)),
      h('td.num', { 'data-col': 'confirmed' }, String(r.events.confirmed)),
      h(
        'td.num',
        { 'data-col': 'rejected', title: reasons(r) },
        String(r.events.rejected),
        r.events.rejected ? h('small.muted', ` (${reasons(r)})`) : null,
      ),
      h('td.num', { 'data-col': 'told' }, String(r.notices.sent)),
      h('td.num', { 'data-col': 'corrected' }, String(r.notices.correctedAfterNotice)),
      h('td.num', { 'data-col': 'filed' }, String(r.cases.filed)),
      h('td.num', { 'data-col': 'delivered' }, String(r.cases.delivered)),
      h('td.num', { 'data-col': 'rate' }, pct(r.rates.confirmed)),
    );
  }

  async function drawGroupChart(/** @type {Stats} */ stats) {
    const uPlot = await loadUPlot();
    chartBox.replaceChildren();
    if (stats.rows.length === 0) return chartBox.append(h('p.muted', tx('none')));
    const labels = stats.rows.map((r) => groupLabel(stats.group, r.key));
    const xs = labels.map((_, i) => i);
    // The full build served here has every path builder (the types allow builds without).
    const paths = /** @type {Required<UPlot['paths']>} */ (uPlot.paths);
    const bars = paths.bars({ size: [0.35, 60], align: 0 });
    /** @type {import('/console/vendor/uplot.js').Options} */
    const opts = {
      title: tx('chartGroups'),
      width: Math.min(1100, Math.max(480, chartBox.clientWidth || 900)),
      height: 260,
      scales: { x: { time: false, range: [-0.6, labels.length - 0.4] } },
      axes: [
        { values: (_u, ticks) => ticks.map((v) => (Number.isInteger(v) ? (labels[v] ?? '') : '')), splits: () => xs },
        {},
      ],
      series: [
        {},
        { label: tx('seriesAlerts'), fill: COLOURS[0], stroke: COLOURS[0], paths: bars, points: { show: false } },
        {
          label: tx('seriesEvents'),
          fill: COLOURS[1],
          stroke: COLOURS[1],
          paths: paths.bars({ size: [0.35, 60], align: 1 }),
          points: { show: false },
        },
      ],
    };
    new uPlot(opts, [xs, stats.rows.map((r) => r.alerts.raised), stats.rows.map((r) => r.events.detected)], chartBox);
  }

  async function load() {
    state.from = fromInput.value || state.from;
    state.to = toInput.value || state.to;
    state.group = groupSelect.value;
    drawLinks();
    try {
      /** @type {Stats} */
      const stats = await api(`/api/stats${qs({ group: state.group, ...period() })}`);
      table.replaceChildren(
        h(
          'thead',
          h(
            'tr',
            [
              'key',
              'district',
              'alerts',
              'hours',
              'detected',
              'confirmed',
              'rejected',
              'told',
              'corrected',
              'filed',
              'delivered',
              'rate',
            ].map((k) => h('th', tx(k))),
          ),
        ),
        h(
          'tbody',
          stats.rows.map((r) => row(r, groupLabel(stats.group, r.key))),
          row(stats.total, tx('total'), true),
        ),
      );
      table.dataset.loaded = `${state.group}:${state.from}:${state.to}`;
      await drawGroupChart(stats);
    } catch (e) {
      toast(errorText(e), 'error');
    }
  }

  // Readings of several devices (staff and admins read readings).
  async function setupReadings() {
    if (!['staff', 'admin'].includes(ctx.user?.role)) return;
    /** @type {import('./devices.js').DeviceListItem[]} */
    let devices = [];
    try {
      devices = await api('/api/devices');
    } catch (e) {
      return toast(errorText(e), 'error');
    }
    const kinds = Object.keys(KIND_METRICS);
    const kindSelect = h(
      'select',
      { name: 'kind', 'data-test': 'kind' },
      kinds.map((k) => h('option', { value: k }, tOr(`kind.${k}`, k))),
    );
    const metricSelect = h('select', { name: 'metric', 'data-test': 'metric' });
    const list = h('div.stats-devices', { 'data-test': 'devices' });
    const plot = h('div.stats-chart', { 'data-test': 'readings-chart' });
    const fill = () => {
      const k = kindSelect.value;
      metricSelect.replaceChildren(...KIND_METRICS[k].map((m) => h('option', { value: m }, `${m} ${UNITS[m] ?? ''}`)));
      const mine = devices
        .filter((d) => d.kind === k)
        .map((d) => d.deviceId)
        .sort();
      list.replaceChildren(
        ...(mine.length
          ? mine.map((id, i) => h('label', h('input', { type: 'checkbox', value: id, checked: i < 3 }), ` ${id}`))
          : [h('span.muted', tx('noDevices'))]),
      );
    };
    kindSelect.addEventListener('change', fill);
    fill();
    async function draw() {
      const ids = [...list.querySelectorAll('input:checked')]
        .map((i) => /** @type {HTMLInputElement} */ (i).value)
        .slice(0, COLOURS.length);
      const metric = metricSelect.value;
      const { from, to } = period();
      plot.replaceChildren();
      if (ids.length === 0) return;
      try {
        const series = await Promise.all(
          ids.map(async (id) => {
            const r = await api(`/api/readings${qs({ device: id, metric, from, to, limit: 100000 })}`);
            /** @type {{ readings: { ts: string, metrics: Record<string, unknown> }[] }} */
            const answer = r;
            return aggregate15(
              answer.readings
                .filter((x) => typeof x.metrics[metric] === 'number')
                .map((x) => /** @type {[number, number]} */ ([Date.parse(x.ts), x.metrics[metric]])),
              metric,
            );
          }),
        );
        const times = [...new Set(series.flatMap((m) => [...m.keys()]))].sort((a, b) => a - b);
        if (times.length === 0) return plot.append(h('p.muted', tx('none')));
        const uPlot = await loadUPlot();
        const label = `${isLevel(metric) ? tx('leq') : tx('mean')} ${metric} ${UNITS[metric] ?? ''}`;
        new uPlot(
          {
            title: label,
            width: Math.min(1100, Math.max(480, plot.clientWidth || 900)),
            height: 320,
            cursor: { drag: { x: true, y: false } },
            series: [{}, ...ids.map((id, i) => ({ label: id, stroke: COLOURS[i], width: 1.5, spanGaps: false }))],
          },
          [times.map((t) => t / 1000), ...series.map((m) => times.map((t) => m.get(t) ?? null))],
          plot,
        );
        plot.dataset.series = String(ids.length);
        plot.dataset.points = String(times.length);
      } catch (e) {
        toast(errorText(e), 'error');
      }
    }
    readingsBox.replaceChildren(
      h('h2', tx('readings')),
      h(
        'div.filters',
        h('label', tx('kind'), ' ', kindSelect),
        h('label', ' ', metricSelect),
        h('button', { type: 'button', 'data-test': 'draw', onclick: draw }, tx('draw')),
      ),
      list,
      h('p.muted', tx('zoomHint')),
      plot,
    );
    await draw();
  }

  const view = h(
    'section.stats',
    h('h1', tx('title')),
    h(
      'form.filters',
      {
        onsubmit: (e) => {
          e.preventDefault();
          void load();
        },
      },
      h('label', tx('from'), ' ', fromInput),
      h('label', tx('to'), ' ', toInput),
      h('label', tx('group'), ' ', groupSelect),
      h('button', { type: 'submit', 'data-test': 'apply' }, tx('apply')),
    ),
    links,
    chartBox,
    table,
    readingsBox,
  );
  // Drawn once in the page, so the charts take the width they are given.
  return {
    el: view,
    mounted: () => {
      void load();
      void setupReadings();
    },
  };
}
