// The statistics' records, read from the platform's stores a page at a time. Events come oldest first and notices and
// cases newest first, so each read stops at the end of the period instead of reading the whole store.
import type { AlertStore } from '../alerts/types.js';
import type { CaseView } from '../cases/types.js';
import type { Notice } from '../notices/types.js';
import type { StoredEvent } from '../review/store.js';
import type { StatsSources } from './stats.js';

const PAGE = 500;
/** Alerts are few (one per rule and device episode) and their store lists without pages: read at most this many. */
export const ALERTS_READ_MAX = 200_000;

export interface StoreHandles {
  alerts?: Pick<AlertStore, 'list'>;
  events?: { list(q: { limit: number; offset?: number }): Promise<{ items: StoredEvent[] }> };
  notices?: { list(q: { limit: number; offset?: number }): Promise<{ items: Notice[] }> };
  cases?: { list(q: { limit: number; offset?: number }): Promise<{ items: CaseView[] }> };
}

async function* pages<T>(
  read: (offset: number) => Promise<{ items: T[] }>,
  stop: (t: T) => boolean,
): AsyncGenerator<T> {
  for (let offset = 0; ; offset += PAGE) {
    const { items } = await read(offset);
    for (const t of items) {
      if (stop(t)) return;
      yield t;
    }
    if (items.length < PAGE) return;
  }
}

/** Sources over the stores this process has; a store it does not have gives no records. */
export function storeSources(h: StoreHandles): StatsSources {
  return {
    async *alerts() {
      if (!h.alerts) return;
      yield* (await h.alerts.list({ limit: ALERTS_READ_MAX })).items;
    },
    async *events(_from, to) {
      if (!h.events) return;
      const ev = h.events;
      yield* pages(
        (offset) => ev.list({ limit: PAGE, offset }),
        (s) => s.event.start >= to,
      );
    },
    async *notices(from) {
      if (!h.notices) return;
      const ns = h.notices;
      yield* pages(
        (offset) => ns.list({ limit: PAGE, offset }),
        (n) => n.createdAt < from,
      );
    },
    async *cases(from) {
      if (!h.cases) return;
      const cs = h.cases;
      yield* pages(
        (offset) => cs.list({ limit: PAGE, offset }),
        (c) => Date.parse(c.createdAt) < from,
      );
    },
  };
}
