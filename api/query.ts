// Query strings carry numbers as text: a time given as digits is epoch milliseconds, read as a number before the
// schema (TimestampSchema) checks it; anything else is left for the schema to judge.
import type { FastifyRequest } from 'fastify';

export const numericTs = (v: unknown): unknown => (typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v);

/** A route's preValidation hook: these query fields, where given as digits, as epoch ms before its schema reads them. */
export const numericTsQuery =
  (...fields: string[]) =>
  async (req: FastifyRequest): Promise<void> => {
    const q = req.query as Record<string, unknown>;
    for (const f of fields) if (q[f] !== undefined) q[f] = numericTs(q[f]);
  };
