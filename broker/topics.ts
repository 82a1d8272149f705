// MQTT topic filters for access control: does a topic match a filter, and does an allowed filter cover everything
// a requested subscription could receive.
import { z } from 'zod';

/** A topic filter as MQTT defines it: "+" a whole level, "#" only as the whole last level; no empty filter. */
export const TopicFilterSchema = z
  .string()
  .min(1)
  .max(256)
  .refine((f) => {
    const levels = f.split('/');
    return levels.every((l, i) =>
      l.includes('#') ? l === '#' && i === levels.length - 1 : !l.includes('+') || l === '+',
    );
  }, 'a topic filter has "+" only as a whole level and "#" only as the whole last level');

/** Does `topic` (no wildcards) match `filter`? Topics starting with "$" are not matched by a leading wildcard. */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  if (topic.startsWith('$') && (f[0] === '+' || f[0] === '#')) return false;
  for (let i = 0; i < f.length; i++) {
    const fl = f[i]!;
    if (fl === '#') return true;
    if (i >= t.length) return false;
    if (fl !== '+' && fl !== t[i]) return false;
  }
  return f.length === t.length;
}

/** A shared subscription `$share/{group}/{filter}` receives what `{filter}` would. */
export function unshare(filter: string): string {
  if (!filter.startsWith('$share/')) return filter;
  const rest = filter.slice('$share/'.length);
  const slash = rest.indexOf('/');
  return slash < 0 ? '' : rest.slice(slash + 1);
}

/** Is every topic that `requested` matches also matched by `allowed`? */
export function filterCovers(allowed: string, requested: string): boolean {
  const a = allowed.split('/');
  const r = requested.split('/');
  if (requested.startsWith('$') && (a[0] === '+' || a[0] === '#')) return false;
  for (let i = 0; i < a.length; i++) {
    const al = a[i]!;
    if (al === '#') return true;
    if (i >= r.length) return false;
    const rl = r[i]!;
    if (rl === '#') return false;
    if (al === '+') continue;
    if (rl === '+' || rl !== al) return false;
  }
  return a.length === r.length;
}
