// Query strings carry numbers as text: a time given as digits is epoch milliseconds, read as a number before the
// schema (TimestampSchema) checks it; anything else is left for the schema to judge.
export const numericTs = (v: unknown): unknown => (typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v);
