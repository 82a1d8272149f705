// Deciding on an event: a reviewer confirms it (it becomes a case) or rejects it with a reason. The law allows an
// electronic-monitoring record as evidence only after the administration reviewed it, so the decision records who
// (the signed-in user, never a name from the request body), when and why, and is never changed afterwards.
import { z } from 'zod';
import type { Logger } from '../runtime/log.js';
import { REJECT_REASONS, type EventStore, type ReviewDecision, type StoredEvent } from './store.js';

export const ReviewInputSchema = z
  .strictObject({
    decision: z.enum(['confirm', 'reject']),
    reason: z.enum(REJECT_REASONS).optional(),
    note: z.string().trim().max(2000).optional(),
  })
  .superRefine((b, ctx) => {
    if (b.decision === 'reject' && !b.reason) {
      ctx.addIssue({
        code: 'custom',
        path: ['reason'],
        message: `a rejection needs a reason: ${REJECT_REASONS.join(', ')}`,
      });
    }
    if (b.decision === 'confirm' && b.reason) {
      ctx.addIssue({ code: 'custom', path: ['reason'], message: 'a reason belongs to a rejection only' });
    }
  });
export type ReviewInput = z.output<typeof ReviewInputSchema>;

export interface Reviewer {
  username: string;
  role: string;
  displayName?: string;
}

/** Files the case of a confirmed event (cases/CaseService); idempotent by event. */
export interface CaseFiler {
  fileEvent(s: StoredEvent): Promise<{ id: string }>;
}

/**
 * The notify/re-check loop (notices/NoticeService): told of a confirmation, it tells the party and re-checks, and
 * files the case itself when one is due (at once, or after an uncorrected re-check). Idempotent by event.
 */
export interface ConfirmationHandler {
  onConfirmed(s: StoredEvent): Promise<{ status: string; caseId?: string }>;
}

/** The outcome of a confirmed event that repeats one confirmed before it (possibleDuplicateOf), which has no case yet. */
export const DUPLICATE_OUTCOME = 'duplicate';

/** Notice statuses that end an event without a case (notices/types.ts NoticeStatus). */
const FINAL_WITHOUT_CASE = new Set(['corrected', 'notice-only', 'not-enforcing', 'recheck-unavailable']);

export class ReviewError extends Error {
  constructor(
    readonly status: 404 | 409,
    message: string,
    /** For 409: the event with the decision taken before. */
    readonly stored?: StoredEvent,
  ) {
    super(message);
  }
}

export class ReviewService {
  constructor(
    private readonly o: {
      events: EventStore;
      /** Null in a process without case dispatch: confirmed events are filed by recover() where it runs. */
      cases: CaseFiler | null;
      /** When set, a confirmation goes to the notify/re-check loop instead of straight to a case. */
      notices?: ConfirmationHandler | null;
      logger: Logger;
      now?: () => number;
    },
  ) {}

  /** Decides an event once. Confirming files its case; the result carries the case id when that succeeded. */
  async review(id: string, input: ReviewInput, by: Reviewer): Promise<StoredEvent> {
    const decision: ReviewDecision = {
      decision: input.decision,
      ...(input.reason ? { reason: input.reason } : {}),
      ...(input.note ? { note: input.note } : {}),
      by: { username: by.username, role: by.role, ...(by.displayName ? { displayName: by.displayName } : {}) },
      at: (this.o.now ?? Date.now)(),
    };
    const r = await this.o.events.decide(id, decision);
    if (!r.ok) {
      if (r.reason === 'not_found') throw new ReviewError(404, `no event ${id}`);
      const d = r.stored.review;
      throw new ReviewError(
        409,
        `event ${id} was already decided${d ? ` (${d.decision} by ${d.by.username} at ${new Date(d.at).toISOString()})` : ''}`,
        r.stored,
      );
    }
    const stored = r.stored;
    this.o.logger.info(
      {
        event: id,
        decision: decision.decision,
        reason: decision.reason,
        by: decision.by.username,
        role: decision.by.role,
      },
      decision.decision === 'confirm' ? 'event confirmed by a reviewer' : 'event rejected by a reviewer',
    );
    if (decision.decision === 'confirm') {
      try {
        await this.afterConfirm(stored);
      } catch (e) {
        // The decision stands; recover() takes it on (at the next start, or when called).
        this.o.logger.error(
          { event: id, err: (e as Error).message },
          'confirmed event: notice or case failed; the recovery at the next start completes it',
        );
      }
    }
    return stored;
  }

  /** A confirmed event's next step: the notify/re-check loop when it runs here, else its case at once. */
  private async afterConfirm(stored: StoredEvent): Promise<boolean> {
    const id = stored.event.id;
    // One act, one case: an event linked to one already confirmed joins it (its case, or its notice under way)
    // instead of telling the party again and filing a second case. The case store refuses a second case anyway.
    const first = stored.event.possibleDuplicateOf ? await this.o.events.get(stored.event.possibleDuplicateOf) : null;
    if (first?.status === 'confirmed') {
      if (first.caseId) {
        await this.o.events.setCaseId(id, first.caseId);
        stored.caseId = first.caseId;
      } else {
        await this.o.events.setOutcome(id, DUPLICATE_OUTCOME);
        stored.outcome = DUPLICATE_OUTCOME;
      }
      this.o.logger.info(
        { event: id, first: first.event.id, case: first.caseId },
        'confirmed event joins the confirmed event it repeats: no second notice or case',
      );
      return true;
    }
    if (this.o.notices) {
      const n = await this.o.notices.onConfirmed(stored);
      if (n.caseId) stored.caseId = n.caseId;
      else if (FINAL_WITHOUT_CASE.has(n.status)) {
        await this.o.events.setOutcome(id, n.status);
        stored.outcome = n.status;
      }
      return true;
    }
    if (!this.o.cases) return false;
    const c = await this.o.cases.fileEvent(stored);
    await this.o.events.setCaseId(id, c.id);
    stored.caseId = c.id;
    return true;
  }

  /**
   * Completes confirmed events that have neither a case nor an outcome (a crash between decision and case or
   * notice): their notice (idempotent) or their case. Returns how many were taken on.
   */
  async recover(): Promise<number> {
    if (!this.o.cases && !this.o.notices) return 0;
    let n = 0;
    const seen = new Set<string>();
    for (;;) {
      // Each pass links what it filed, so the next page starts with the rest; `seen` guards against a link that
      // did not take (it would otherwise loop here).
      const items = (await this.o.events.list({ withoutCase: true, limit: 100 })).items.filter(
        (s) => !seen.has(s.event.id),
      );
      if (items.length === 0) break;
      for (const s of items) {
        seen.add(s.event.id);
        if (await this.afterConfirm(s)) n++;
      }
    }
    if (n) this.o.logger.info({ completed: n }, 'confirmed events without a case or notice completed');
    return n;
  }
}

/** The event as the API shows it: the contract's event plus review status, arrival, decision and case. */
export function viewEvent(s: StoredEvent): Record<string, unknown> {
  return {
    ...s.event,
    status: s.status,
    receivedAt: s.receivedAt,
    ...(s.review ? { review: s.review } : {}),
    ...(s.caseId ? { caseId: s.caseId } : {}),
    ...(s.outcome ? { outcome: s.outcome } : {}),
  };
}
