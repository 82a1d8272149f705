// Events of one camera that may be one vehicle's one stay, which the zone rules could not merge: the first was
// raised already when the second began, or the gap or the shift between their tracks was too large to be sure. The
// worker links the later event to the earlier (`possibleDuplicateOf`) for the reviewer, and the case store files one
// case for a linked pair. Plates decide where both were read: the same plate (with or without its province
// character) links; two confident, different plates are two vehicles.
import { z } from 'zod';
import type { Box, EnforcementEvent } from '../../contracts/events.js';
import { parseConfig } from '../../runtime/config.js';
import { comparePlates } from '../ocr/plate-text.js';
import { iou } from './geometry.js';

export const DuplicateLinkOptionsSchema = z.strictObject({
  /** An event that begins at most this long after an earlier one's last sighting may repeat it. */
  windowS: z.number().min(0).default(120),
  /** Without plates to compare, the boxes must overlap at least this much (IoU). */
  minIou: z.number().gt(0).max(1).default(0.1),
  /** Events remembered per camera (the oldest are forgotten first). */
  remember: z.number().int().min(1).default(200),
});
export type DuplicateLinkOptionsInput = z.input<typeof DuplicateLinkOptionsSchema>;

interface Seen {
  id: string;
  zoneId: string;
  role: EnforcementEvent['role'];
  box: Box;
  start: number;
  end: number;
  plate?: EnforcementEvent['plate'];
}

export class DuplicateLinks {
  private readonly o: z.output<typeof DuplicateLinkOptionsSchema>;
  private readonly seen: Seen[] = [];

  constructor(options: DuplicateLinkOptionsInput = {}) {
    this.o = parseConfig(DuplicateLinkOptionsSchema, options, 'duplicate link options');
  }

  /** The earlier event this one may repeat (the most recent such), or undefined. */
  linkOf(e: Pick<EnforcementEvent, 'id' | 'zone' | 'role' | 'box' | 'start' | 'plate'>): string | undefined {
    for (let i = this.seen.length - 1; i >= 0; i--) {
      const s = this.seen[i]!;
      if (s.id === e.id || s.zoneId !== e.zone.id || s.role !== e.role) continue;
      if (e.start < s.start || e.start - s.end > this.o.windowS * 1000) continue;
      const plates = comparePlates(s.plate, e.plate);
      if (plates === 'same') return s.id;
      if (plates === 'different') continue;
      if (iou(s.box, e.box) >= this.o.minIou) return s.id;
    }
    return undefined;
  }

  /** Remembers an event raised (or completed: the same id again, with its final end). */
  remember(e: Pick<EnforcementEvent, 'id' | 'zone' | 'role' | 'box' | 'start' | 'end' | 'plate'>): void {
    const known = this.seen.find((s) => s.id === e.id);
    if (known) {
      known.end = Math.max(known.end, e.end);
      return;
    }
    this.seen.push({
      id: e.id,
      zoneId: e.zone.id,
      role: e.role,
      box: e.box,
      start: e.start,
      end: e.end,
      ...(e.plate ? { plate: e.plate } : {}),
    });
    if (this.seen.length > this.o.remember) this.seen.shift();
  }
}
