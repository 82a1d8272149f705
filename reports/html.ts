// The printable report (zh-CN) as one self-contained HTML page: summary, tables by district and type, hours in
// exceedance per site and bar charts drawn as inline SVG, so Chromium prints it without fetching anything.
import type { Stats, StatsRow } from '../stats/stats.js';
import type { ReportKind, ReportPeriod } from './period.js';

const TITLES: Record<ReportKind, string> = { daily: '日报', weekly: '周报', monthly: '月报' };

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const pct = (r: number | null) => (r === null ? '—' : `${(r * 100).toFixed(1)}%`);

export interface ReportInput {
  period: ReportPeriod;
  byDistrict: Stats;
  byType: Stats;
  bySite: Stats;
  /** When it was made (epoch ms) and the zone its times are shown in. */
  generatedAt: number;
  timeZone: string;
}

/** Horizontal bars, one per label, scaled to the largest value. */
export function barChart(title: string, bars: { label: string; value: number }[], unit = ''): string {
  const rowH = 22;
  const width = 640;
  const labelW = 170;
  const max = Math.max(1, ...bars.map((b) => b.value));
  const h = Math.max(1, bars.length) * rowH + 30;
  const rows = bars
    .map((b, i) => {
      const y = 24 + i * rowH;
      const w = Math.round(((width - labelW - 70) * b.value) / max);
      return `<text x="${labelW - 6}" y="${y + 14}" text-anchor="end">${esc(b.label)}</text><rect x="${labelW}" y="${y + 3}" width="${w}" height="${rowH - 8}" fill="#2f6fb0"/><text x="${labelW + w + 6}" y="${y + 14}">${b.value}${unit}</text>`;
    })
    .join('');
  const empty = bars.length === 0 ? `<text x="${labelW}" y="40">无数据</text>` : '';
  return `<figure><svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${h}" font-size="12"><text x="0" y="14" font-weight="bold">${esc(title)}</text>${rows}${empty}</svg></figure>`;
}

function row(r: StatsRow, label = r.key || '未登记'): string {
  const reasons = Object.entries(r.events.rejectReasons)
    .map(([k, v]) => `${REASONS[k] ?? k} ${v}`)
    .join('，');
  return `<tr><td>${esc(label)}</td><td>${r.alerts.raised}</td><td>${r.exceedanceHours.toFixed(1)}</td><td>${r.events.detected}</td><td>${r.events.confirmed}</td><td>${r.events.rejected}${reasons ? `（${esc(reasons)}）` : ''}</td><td>${r.notices.sent}</td><td>${r.notices.correctedAfterNotice}</td><td>${r.cases.filed}</td><td>${r.cases.delivered}</td><td>${pct(r.rates.confirmed)}</td></tr>`;
}

const REASONS: Record<string, string> = {
  'false-detection': '误报',
  permitted: '已许可',
  duplicate: '重复',
  other: '其他',
};
const TYPES: Record<string, string> = {
  'illegal-parking': '违法停放',
  'out-of-store-vending': '出店经营',
  'illegal-non-motor-parking': '非机动车乱停放',
  noise: '噪声',
  dust: '扬尘',
  fume: '油烟',
  drainage: '排水',
  manhole: '井盖',
};

const HEAD =
  '<tr><th>分组</th><th>告警</th><th>超标小时</th><th>发现事件</th><th>确认</th><th>驳回</th><th>已告知</th><th>告知后整改</th><th>立案</th><th>已推送</th><th>确认率</th></tr>';

function table(s: Stats, label?: (k: string) => string): string {
  return `<table>${HEAD}${s.rows.map((r) => row(r, label?.(r.key))).join('')}${row(s.total, '合计')}</table>`;
}

export function reportHtml(i: ReportInput): string {
  const t = i.byDistrict.total;
  const local = (ms: number) => new Date(ms).toLocaleString('zh-CN', { timeZone: i.timeZone, hour12: false });
  const span =
    i.period.firstDay === i.period.lastDay ? i.period.firstDay : `${i.period.firstDay} 至 ${i.period.lastDay}`;
  const sites = i.bySite.rows
    .filter((r) => r.exceedanceHours > 0)
    .sort((a, b) => b.exceedanceHours - a.exceedanceHours)
    .slice(0, 15);
  return `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>城市感知与非现场执法${TITLES[i.period.kind]} ${esc(span)}</title>
<style>
@page { size: A4; margin: 16mm 14mm; }
body { font-family: "WenQuanYi Micro Hei", "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; font-size: 11pt; color: #111; }
h1 { font-size: 18pt; margin: 0 0 4pt; } h2 { font-size: 13pt; margin: 14pt 0 6pt; border-bottom: 1px solid #999; }
.meta { color: #555; font-size: 9pt; } table { border-collapse: collapse; width: 100%; font-size: 9pt; }
th, td { border: 1px solid #bbb; padding: 2pt 4pt; text-align: right; } th:first-child, td:first-child { text-align: left; }
.kpi { display: flex; gap: 8pt; flex-wrap: wrap; } .kpi div { border: 1px solid #bbb; padding: 4pt 8pt; } .kpi b { display: block; font-size: 14pt; }
figure { margin: 6pt 0; page-break-inside: avoid; } tr { page-break-inside: avoid; }
</style></head><body>
<h1>城市感知与非现场执法${TITLES[i.period.kind]}</h1>
<div class="meta">统计周期：${esc(span)}（${esc(i.timeZone)}）　生成时间：${esc(local(i.generatedAt))}</div>
<h2>一、概况</h2>
<div class="kpi"><div>告警<b>${t.alerts.raised}</b></div><div>超标小时<b>${t.exceedanceHours.toFixed(1)}</b></div><div>发现事件<b>${t.events.detected}</b></div><div>确认<b>${t.events.confirmed}</b></div><div>驳回<b>${t.events.rejected}</b></div><div>告知<b>${t.notices.sent}</b></div><div>告知后整改<b>${t.notices.correctedAfterNotice}</b></div><div>立案<b>${t.cases.filed}</b></div><div>已推送<b>${t.cases.delivered}</b></div></div>
<h2>二、按区域</h2>
${barChart(
  '各区域告警数',
  i.byDistrict.rows.map((r) => ({ label: r.key || '未登记', value: r.alerts.raised })),
)}
${table(i.byDistrict)}
<h2>三、按类型</h2>
${barChart(
  '各类型发现事件与告警',
  i.byType.rows.map((r) => ({ label: TYPES[r.key] ?? r.key, value: r.alerts.raised + r.events.detected })),
)}
${table(i.byType, (k) => TYPES[k] ?? k)}
<h2>四、工地与餐饮单位超标时长</h2>
${barChart(
  '超标小时（扬尘、噪声、油烟）',
  sites.map((r) => ({ label: r.key, value: Math.round(r.exceedanceHours * 10) / 10 })),
  ' h',
)}
</body></html>`;
}
