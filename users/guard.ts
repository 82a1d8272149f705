// The /api guard: every /api route needs a session except the few declared public; a role that may not use a route
// gets 403. Which roles may use which routes is declared once, as path prefixes (ROUTE_ROLES); routes may also check
// on their own with requireRole(). Rules are matched against the route's pattern (`/api/users/:username`) when the
// request found a route, so an encoded path (`/api/%75sers`) cannot slip past a prefix; a request that found no
// route still needs a session (401 before 404: nobody probes the API anonymously).
import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import type { Role } from './types.js';

export interface RouteRule {
  /** A path prefix, matched at segment boundaries: `/api/users` matches `/api/users` and `/api/users/:username`. */
  prefix: string;
  /** Only these methods (HEAD counts as GET); all when absent. */
  methods?: readonly string[];
  /** Who may use it: roles, or 'any' signed-in user (the route decides the rest). */
  roles: readonly Role[] | 'any';
}

export interface PublicRoute {
  method: string;
  url: string;
}

const STAFF: readonly Role[] = ['staff', 'admin'];
const REVIEW: readonly Role[] = ['reviewer', 'admin'];

/**
 * The contract's roles: staff (alerts, devices, readings), reviewer (events, review, cases read), admin (everything,
 * users). A signed-in user reaching an /api route that no rule names is refused unless admin: new routes are closed
 * until someone decides who may use them.
 */
export const ROUTE_ROLES: readonly RouteRule[] = [
  { prefix: '/api/session', roles: 'any' },
  { prefix: '/api/users', roles: ['admin'] },
  // Everyone may change their own password; the route refuses anything else to non-admins.
  { prefix: '/api/users', methods: ['PATCH'], roles: 'any' },
  { prefix: '/api/alerts', roles: STAFF },
  { prefix: '/api/readings', roles: STAFF },
  { prefix: '/api/devices', roles: STAFF },
  { prefix: '/api/rules', roles: STAFF },
  { prefix: '/api/dead-letters', roles: STAFF },
  { prefix: '/api/events', roles: REVIEW },
  { prefix: '/api/evidence', roles: REVIEW },
  { prefix: '/api/cases', methods: ['GET'], roles: REVIEW },
  { prefix: '/api/case-inbox', methods: ['GET'], roles: REVIEW },
  { prefix: '/api/export', methods: ['GET'], roles: REVIEW },
  // Readings and alerts are staff data in a file too; the statistics and reports count both sides' work.
  { prefix: '/api/export/readings.csv', methods: ['GET'], roles: STAFF },
  { prefix: '/api/export/readings.xlsx', methods: ['GET'], roles: STAFF },
  { prefix: '/api/export/alerts.csv', methods: ['GET'], roles: STAFF },
  { prefix: '/api/export/alerts.xlsx', methods: ['GET'], roles: STAFF },
  { prefix: '/api/export/stats.csv', methods: ['GET'], roles: [...STAFF, 'reviewer'] },
  { prefix: '/api/export/stats.xlsx', methods: ['GET'], roles: [...STAFF, 'reviewer'] },
  { prefix: '/api/stats', methods: ['GET'], roles: [...STAFF, 'reviewer'] },
  // The map's layers (district and grid GeoJSON, the tile template): every role's map page draws them.
  { prefix: '/api/map', methods: ['GET'], roles: [...STAFF, 'reviewer'] },
  { prefix: '/api/reports', methods: ['GET'], roles: [...STAFF, 'reviewer'] },
  // The API reference (OpenAPI 3, built from the route schemas) and the console's page over it: every role.
  { prefix: '/api/openapi.json', methods: ['GET'], roles: [...STAFF, 'reviewer'] },
  // The notify/re-check loop and the parties' statements (objections) are the reviewers' work.
  { prefix: '/api/notices', methods: ['GET'], roles: REVIEW },
  { prefix: '/api/parties', methods: ['GET'], roles: REVIEW },
  { prefix: '/api/objections', roles: REVIEW },
];

/** Routes that answer without a session: the login itself and the NB-IoT push receiver (it checks its own token). */
export const PUBLIC_ROUTES: readonly PublicRoute[] = [
  { method: 'POST', url: '/api/session' },
  { method: 'POST', url: '/api/ingest/nbiot' },
];

export const UNAUTHORIZED = { error: 'unauthorized' } as const;
export const FORBIDDEN = { error: 'forbidden' } as const;

function underPrefix(path: string, prefix: string): boolean {
  return path === prefix || path.startsWith(prefix.endsWith('/') ? prefix : `${prefix}/`);
}

/**
 * The /api path a request is judged by, or null when it is not an /api request: the route's pattern when that is
 * under /api, else the decoded request path (no route, or a catch-all such as the console's `/*`).
 */
export function guardedPath(req: FastifyRequest): string | null {
  const pattern = req.routeOptions.url;
  if (pattern && isApiPath(pattern)) return pattern;
  const raw = req.url.split('?')[0] ?? '/';
  let decoded = raw;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    // A malformed escape: judge the raw path.
  }
  return isApiPath(decoded) || isApiPath(raw) ? decoded : null;
}

export function isApiPath(path: string): boolean {
  return underPrefix(path, '/api');
}

/**
 * The rule for a method and path: the longest matching prefix, a method-specific rule before a general one of the
 * same prefix; null when none matches (then only admins pass).
 */
export function ruleFor(rules: readonly RouteRule[], method: string, path: string): RouteRule | null {
  const m = method === 'HEAD' ? 'GET' : method;
  let best: RouteRule | null = null;
  for (const r of rules) {
    if (!underPrefix(path, r.prefix)) continue;
    if (r.methods && !r.methods.includes(m)) continue;
    if (
      !best ||
      r.prefix.length > best.prefix.length ||
      (r.prefix.length === best.prefix.length && r.methods && !best.methods)
    )
      best = r;
  }
  return best;
}

export function roleAllowed(rule: RouteRule | null, role: Role): boolean {
  if (!rule) return role === 'admin';
  return rule.roles === 'any' || rule.roles.includes(role);
}

/**
 * A preHandler for routes that check roles themselves (on top of the guard's rules):
 * `app.post('/api/x', { preHandler: requireRole('reviewer', 'admin') }, handler)`. 401 without a user, 403 for
 * another role.
 */
export function requireRole(...roles: Role[]): preHandlerAsyncHookHandler {
  return async function (req: FastifyRequest, reply: FastifyReply) {
    if (!req.user) return reply.code(401).send(UNAUTHORIZED);
    if (!roles.includes(req.user.role)) return reply.code(403).send(FORBIDDEN);
  };
}

// Cookies: only `sid` is read and written, so a few lines do instead of a dependency.

/** The value of one cookie from a Cookie header. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() !== name) continue;
    let v = part.slice(eq + 1).trim();
    if (v.startsWith('"') && v.endsWith('"') && v.length >= 2) v = v.slice(1, -1);
    return v;
  }
  return undefined;
}

/**
 * The session cookie: HttpOnly (no script reads it), SameSite=Strict (no other site's page sends it, which is what
 * stops cross-site request forgery here), Path=/, Secure when the request came over HTTPS. No Max-Age: it ends with
 * the browser; the server ends it sooner when idle.
 */
export function sessionCookie(name: string, token: string, secure: boolean): string {
  return `${name}=${token}; Path=/; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}

export function clearedCookie(name: string, secure: boolean): string {
  return `${name}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT${secure ? '; Secure' : ''}`;
}
