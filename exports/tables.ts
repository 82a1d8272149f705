// The exported tables: readings, alerts, events, cases and the statistics, each as columns and rows read from the
// stores a page at a time. Times are ISO-8601 UTC, as in the API, so a script reads them unambiguously.
import type { Alert, AlertQuery } from '../alerts/types.js';
import type { CaseView, DeliveryStatus } from '../cases/types.js';
import type { EventQuery, StoredEvent } from '../review/store.js';
import type { ReadingStore } from '../store/types.js';
import type { Stats } from '../stats/stats.js';
import type { Cell, Column, Table } from './table.js';

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
const cols = (pairs: [string, string][]): Column[] => pairs.map(([key, zh]) => ({ key, header: `${zh} ${key}` }));

/** Readings per query page, and the span one page covers (the store counts each page's span: keep it short). */
const READINGS_PAGE = 5000;
const READINGS_WINDOW_MS = 6 * 3_600_000;

export interface ReadingsFilter {
  devices: readonly string[];
  metric?: string;
  from: number;
  to: number;
}

/**
 * Every reading of the devices in [from, to), one row per metric, in time order per device. Read a window of hours
 * at a time (the store counts the points of each query's span, which over a year of readings would cost more than
 * reading them), and within a window from the last time read on, so no page is larger than READINGS_PAGE.
 */
export async function* readingRows(store: Pick<ReadingStore, 'query'>, f: ReadingsFilter): AsyncGenerator<Cell[]> {
  for (const deviceId of f.devices) {
    for (let w = f.from; w < f.to; w += READINGS_WINDOW_MS) {
      const end = Math.min(w + READINGS_WINDOW_MS, f.to);
      let from = w;
      for (;;) {
        const { readings } = await store.query({ deviceId, metric: f.metric, from, to: end, limit: READINGS_PAGE });
        for (const r of readings) {
          const ts = new Date(r.ts).toISOString();
          for (const m in r.metrics) yield [deviceId, ts, m, r.metrics[m], r.flags?.[m] ?? null];
        }
        if (readings.length < READINGS_PAGE) break;
        from = readings[readings.length - 1]!.ts + 1;
      }
    }
  }
}

export const READING_COLUMNS = cols([
  ['device', '设备'],
  ['ts', '时间'],
  ['metric', '指标'],
  ['value', '数值'],
  ['flag', '数据标记'],
]);

export function readingsTable(store: Pick<ReadingStore, 'query'>, f: ReadingsFilter): Table {
  return { name: 'readings', columns: READING_COLUMNS, rows: readingRows(store, f) };
}

export const ALERT_COLUMNS = cols([
  ['id', '编号'],
  ['ruleId', '规则'],
  ['name', '名称'],
  ['category', '类别'],
  ['deviceId', '设备'],
  ['district', '区域'],
  ['kind', '传感器类型'],
  ['metric', '指标'],
  ['severity', '级别'],
  ['state', '状态'],
  ['firstSeen', '首次'],
  ['lastSeen', '最近'],
  ['resolvedAt', '解除'],
  ['value', '数值'],
  ['level', '阈值'],
  ['peak', '峰值'],
  ['standard', '标准'],
]);

/** The alerts of the list route's filters whose episode began in [from, to). */
export function alertsTable(
  store: { list(q: AlertQuery): Promise<{ items: Alert[] }> },
  q: Omit<AlertQuery, 'limit'>,
  from: number,
  to: number,
  max: number,
): Table {
  async function* rows(): AsyncGenerator<Cell[]> {
    for (const a of (await store.list({ ...q, limit: max })).items) {
      if (a.firstSeen < from || a.firstSeen >= to) continue;
      yield [
        a.id,
        a.ruleId,
        a.name.zh,
        a.category,
        a.deviceId,
        a.district,
        a.kind,
        a.metric,
        a.severity,
        a.state,
        iso(a.firstSeen),
        iso(a.lastSeen),
        iso(a.resolvedAt),
        a.value,
        a.level,
        a.peak,
        a.standard,
      ];
    }
  }
  return { name: 'alerts', columns: ALERT_COLUMNS, rows: rows() };
}

export const EVENT_COLUMNS = cols([
  ['id', '编号'],
  ['type', '类型'],
  ['cameraId', '摄像机'],
  ['district', '区域'],
  ['gridCell', '网格'],
  ['postedLocation', '公示位置'],
  ['zone', '区域名称'],
  ['start', '开始'],
  ['end', '结束'],
  ['dwellS', '停留秒数'],
  ['plate', '车牌'],
  ['confidence', '置信度'],
  ['status', '审核状态'],
  ['reason', '驳回原因'],
  ['reviewer', '审核人'],
  ['decidedAt', '审核时间'],
  ['caseId', '案卷'],
  ['outcome', '结果'],
]);

const PAGE = 500;

/** The events of the list route's filters that started in [from, to), oldest first. */
export function eventsTable(
  store: { list(q: EventQuery): Promise<{ items: StoredEvent[] }> },
  q: Omit<EventQuery, 'limit' | 'offset'>,
  from: number,
  to: number,
): Table {
  async function* rows(): AsyncGenerator<Cell[]> {
    for (let offset = 0; ; offset += PAGE) {
      const { items } = await store.list({ ...q, limit: PAGE, offset });
      for (const s of items) {
        const e = s.event;
        if (e.start >= to) return;
        if (e.start < from) continue;
        yield [
          e.id,
          e.type,
          e.camera.id,
          e.camera.district,
          e.camera.gridCell,
          e.camera.postedLocation,
          e.zone.name,
          iso(e.start),
          iso(e.end),
          e.dwellS,
          e.plate?.text ?? null,
          e.confidence,
          s.status,
          s.review?.reason ?? null,
          s.review?.by.username ?? null,
          iso(s.review?.at),
          s.caseId ?? null,
          s.outcome ?? null,
        ];
      }
      if (items.length < PAGE) return;
    }
  }
  return { name: 'events', columns: EVENT_COLUMNS, rows: rows() };
}

export const CASE_COLUMNS = cols([
  ['id', '案卷编号'],
  ['sourceType', '来源'],
  ['sourceId', '来源编号'],
  ['eventType', '类型'],
  ['code', '分类代码'],
  ['district', '区域'],
  ['gridCell', '网格'],
  ['occurredAt', '发生时间'],
  ['createdAt', '立案时间'],
  ['delivery', '推送状态'],
  ['deliveredAt', '推送时间'],
  ['attempts', '尝试次数'],
]);

/** The cases of the list route's filter created in [from, to), newest first. */
export function casesTable(
  store: { list(q: { status?: DeliveryStatus; limit: number; offset?: number }): Promise<{ items: CaseView[] }> },
  status: DeliveryStatus | undefined,
  from: number,
  to: number,
): Table {
  async function* rows(): AsyncGenerator<Cell[]> {
    for (let offset = 0; ; offset += PAGE) {
      const { items } = await store.list({ status, limit: PAGE, offset });
      for (const c of items) {
        const t = Date.parse(c.createdAt);
        if (t < from) return;
        if (t >= to) continue;
        yield [
          c.id,
          c.source.type,
          c.source.id,
          c.eventType,
          c.code,
          c.district,
          c.gridCell,
          c.occurredAt,
          c.createdAt,
          c.delivery.status,
          c.delivery.deliveredAt ?? null,
          c.delivery.attempts,
        ];
      }
      if (items.length < PAGE) return;
    }
  }
  return { name: 'cases', columns: CASE_COLUMNS, rows: rows() };
}

export const STATS_COLUMNS = cols([
  ['key', '分组'],
  ['district', '区域'],
  ['alertsRaised', '告警数'],
  ['exceedanceHours', '超标小时'],
  ['eventsDetected', '发现事件'],
  ['eventsConfirmed', '确认'],
  ['eventsRejected', '驳回'],
  ['eventsPending', '待审'],
  ['rejectReasons', '驳回原因'],
  ['noticesSent', '已告知'],
  ['correctedAfterNotice', '告知后整改'],
  ['casesFiled', '立案'],
  ['casesDelivered', '已推送'],
  ['confirmedRate', '确认率'],
  ['correctedRate', '整改率'],
  ['deliveredRate', '推送率'],
]);

/** The statistics, a row per group and a last row 合计 total. */
export function statsTable(s: Stats): Table {
  async function* rows(): AsyncGenerator<Cell[]> {
    for (const r of [...s.rows, { ...s.total, key: '合计 total' }]) {
      const reasons = Object.entries(r.events.rejectReasons)
        .map(([k, v]) => `${k}:${v}`)
        .join(' ');
      yield [
        r.key,
        r.district ?? null,
        r.alerts.raised,
        r.exceedanceHours,
        r.events.detected,
        r.events.confirmed,
        r.events.rejected,
        r.events.pending,
        reasons,
        r.notices.sent,
        r.notices.correctedAfterNotice,
        r.cases.filed,
        r.cases.delivered,
        r.rates.confirmed,
        r.rates.correctedAfterNotice,
        r.rates.delivered,
      ];
    }
  }
  return { name: `stats-${s.group}`, columns: STATS_COLUMNS, rows: rows() };
}
