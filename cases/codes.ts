// The city's classification table (config/case-codes.json): which code a case gets. Codes come from deployed
// systems rather than the standard's text, so they are configuration, checked at start: a mapping to a code the
// table does not list stops the process with the entry named.
import { z } from 'zod';
import { EVENT_TYPES, type EventType } from '../contracts/index.js';
import { parseConfig, readJsonFile } from '../runtime/config.js';

const Code = z.string().regex(/^\d{4,6}$/, 'a code is 4 to 6 digits (large class + small class), e.g. "0505"');

export const CaseCodeSchema = z.strictObject({
  /** 事件 (event) or 部件 (component). */
  kind: z.enum(['event', 'component']),
  /** The large class, for people reading the file. */
  class: z.string().optional(),
  zh: z.string().min(1),
  en: z.string().min(1),
  /** Where the code comes from (a standard, a deployed system). */
  source: z.string().min(1),
});

export const CaseCodesFileSchema = z
  .strictObject({
    $comment: z.string().optional(),
    scheme: z.string().optional(),
    codes: z.record(Code, CaseCodeSchema),
    /** Enforcement event type → code. Every event type needs one (a confirmed event always becomes a case). */
    events: z.strictObject(Object.fromEntries(EVENT_TYPES.map((t) => [t, Code])) as Record<EventType, typeof Code>),
    /** Alert rule id → code, for case-worthy rules without a caseCode of their own. */
    rules: z.record(z.string().min(1), Code).default({}),
  })
  .superRefine((f, ctx) => {
    for (const [t, c] of Object.entries(f.events)) {
      if (!f.codes[c]) ctx.addIssue({ code: 'custom', path: ['events', t], message: `code ${c} is not in "codes"` });
    }
    for (const [r, c] of Object.entries(f.rules)) {
      if (!f.codes[c]) ctx.addIssue({ code: 'custom', path: ['rules', r], message: `code ${c} is not in "codes"` });
    }
  });
export type CaseCodes = z.output<typeof CaseCodesFileSchema>;
export type CaseCode = z.output<typeof CaseCodeSchema>;

export function loadCaseCodes(file: string): CaseCodes {
  const raw = readJsonFile(file, 'case codes file');
  return parseConfig(CaseCodesFileSchema, raw, file);
}

/** The code of an alert rule's case: the rule's own caseCode, else the table's entry for the rule, else none. */
export function codeForRule(codes: CaseCodes, ruleId: string, ruleCode?: string): string | null {
  return ruleCode ?? codes.rules[ruleId] ?? null;
}
