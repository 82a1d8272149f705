// The fastify plugin of users and sessions: the /api guard (onRequest), `req.user`, and the routes
//   POST /api/session, GET /api/session, DELETE /api/session,
//   GET /api/users, POST /api/users, PATCH /api/users/:username.
// The guard applies to the whole server (not only to routes registered inside it), like fastify-plugin's
// skip-override; the routes are an encapsulated child (sessionRoutes) with zod schemas on them (api/schemas.ts).
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { Failure, useZodSchemas } from '../api/schemas.js';
import {
  clearedCookie,
  FORBIDDEN,
  guardedPath,
  PUBLIC_ROUTES,
  readCookie,
  requireRole,
  roleAllowed,
  ROUTE_ROLES,
  ruleFor,
  sessionCookie,
  UNAUTHORIZED,
  type PublicRoute,
  type RouteRule,
} from './guard.js';
import type { Users } from './service.js';
import { DisplayNameSchema, PasswordSchema, ROLES, RoleSchema, UsernameSchema, userView } from './types.js';

export interface AuthPluginOptions {
  users: Users;
  /** Which roles may use which /api routes; default ROUTE_ROLES (the contract). */
  rules?: readonly RouteRule[];
  /** /api routes that need no session; default PUBLIC_ROUTES (the login, the NB-IoT receiver). */
  publicRoutes?: readonly PublicRoute[];
  /** Default "sid". */
  cookieName?: string;
}

const LoginBody = z.strictObject({ username: z.string().min(1).max(256), password: z.string().min(1).max(1024) });
const CreateBody = z.strictObject({
  username: UsernameSchema,
  password: PasswordSchema,
  role: RoleSchema,
  displayName: DisplayNameSchema.optional(),
});
const PatchBody = z.strictObject({
  password: PasswordSchema.optional(),
  currentPassword: z.string().min(1).max(1024).optional(),
  role: RoleSchema.optional(),
  disabled: z.boolean().optional(),
  displayName: DisplayNameSchema.optional(),
});
const PatchParams = z.strictObject({ username: UsernameSchema });

// What the answers hold, for the OpenAPI document (answers are sent as built: api/schemas.ts).
const SessionUser = z.object({
  user: z.object({ username: z.string(), role: z.enum(ROLES), displayName: z.string() }),
});
const UserView = z.object({
  username: z.string(),
  role: z.enum(ROLES),
  displayName: z.string(),
  disabled: z.boolean(),
  createdAt: z.string().describe('ISO 8601'),
  updatedAt: z.string().describe('ISO 8601'),
  createdBy: z.string(),
  updatedBy: z.string(),
});
/** The guard's refusals (guard.ts): no session, or a role that may not. */
const Refused = z.object({ error: z.enum(['unauthorized', 'forbidden']) });

const WRONG_CREDENTIALS = { error: 'unauthorized', message: '用户名或密码错误 / wrong username or password' } as const;
const TOO_MANY = {
  error: 'too_many_requests',
  message: '登录失败次数过多，请稍后再试 / too many failed attempts, try again later',
} as const;

const pluginImpl: FastifyPluginAsync<AuthPluginOptions> = async (app: FastifyInstance, o: AuthPluginOptions) => {
  const users = o.users;
  const rules = o.rules ?? ROUTE_ROLES;
  const publicRoutes = o.publicRoutes ?? PUBLIC_ROUTES;
  const cookie = o.cookieName ?? 'sid';
  // The session a request came with, for logout and "end my other sessions".
  const sessionOf = new WeakMap<FastifyRequest, string>();

  app.decorateRequest('user', null);
  app.decorateRequest('watchSession', null);

  app.addHook('onRequest', async (req, reply) => {
    const path = guardedPath(req);
    if (path === null) return;
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    if (publicRoutes.some((p) => p.method === method && p.url === path)) return;
    const auth = await users.authenticate(readCookie(req.headers.cookie, cookie));
    if (!auth) return reply.code(401).send(UNAUTHORIZED);
    req.user = auth.user;
    sessionOf.set(req, auth.sessionHash);
    req.watchSession = () => users.watchSession(auth.sessionHash, auth.user);
    if (!roleAllowed(ruleFor(rules, method, path), auth.user.role)) {
      req.log.warn({ username: auth.user.username, role: auth.user.role, method: req.method, path }, 'forbidden');
      return reply.code(403).send(FORBIDDEN);
    }
  });

  await app.register(sessionRoutes, { users, cookie, sessionOf });
};

interface SessionRoutesOptions {
  users: Users;
  cookie: string;
  /** The session each request came with, as the guard found it. */
  sessionOf: WeakMap<FastifyRequest, string>;
}

/** POST, GET, DELETE /api/session; GET, POST /api/users; PATCH /api/users/:username. */
const sessionRoutes: FastifyPluginAsyncZod<SessionRoutesOptions> = async (app, { users, cookie, sessionOf }) => {
  useZodSchemas(app, 'body');
  const tags = ['users'];
  const secure = (req: FastifyRequest) => req.protocol === 'https';
  // Set before a refused body is answered too: no answer about a sign-in is kept by a cache.
  const noStore = async (_req: FastifyRequest, reply: FastifyReply) => {
    reply.header('cache-control', 'no-store');
  };

  app.post(
    '/api/session',
    {
      preHandler: noStore,
      schema: {
        tags,
        summary: 'Sign in: sets the session cookie',
        body: LoginBody,
        response: { 200: SessionUser, 400: Failure, 401: Failure, 429: Failure },
      },
    },
    async (req, reply) => {
      const r = await users.login(req.body.username, req.body.password, req.ip, req.headers['user-agent'] ?? '');
      if (!r.ok) {
        if (r.reason === 'rate_limited') {
          reply.header('retry-after', String(Math.ceil(r.retryAfterMs / 1000)));
          return reply.code(429).send(TOO_MANY);
        }
        return reply.code(401).send(WRONG_CREDENTIALS);
      }
      reply.header('set-cookie', sessionCookie(cookie, r.token, secure(req)));
      return { user: { username: r.user.username, role: r.user.role, displayName: r.user.displayName } };
    },
  );

  app.get(
    '/api/session',
    {
      preHandler: noStore,
      schema: { tags, summary: 'The signed-in user', response: { 200: SessionUser, 401: Refused } },
    },
    async (req, reply) => {
      const u = req.user;
      if (!u) return reply.code(401).send(UNAUTHORIZED);
      return { user: { username: u.username, role: u.role, displayName: u.displayName } };
    },
  );

  app.delete(
    '/api/session',
    {
      schema: {
        tags,
        summary: 'Sign out: ends this session',
        response: { 200: z.object({ ok: z.literal(true) }), 401: Refused },
      },
    },
    async (req, reply) => {
      const u = req.user;
      const s = sessionOf.get(req);
      if (!u || !s) return reply.code(401).send(UNAUTHORIZED);
      await users.logout(s, u, req.ip);
      reply.header('set-cookie', clearedCookie(cookie, secure(req)));
      return { ok: true as const };
    },
  );

  app.get(
    '/api/users',
    {
      preHandler: requireRole('admin'),
      schema: {
        tags,
        summary: 'Every user (admin)',
        response: { 200: z.object({ items: z.array(UserView), total: z.number().int() }), 401: Refused, 403: Refused },
      },
    },
    async () => {
      const items = (await users.list()).map(userView);
      return { items, total: items.length };
    },
  );

  app.post(
    '/api/users',
    {
      preHandler: requireRole('admin'),
      schema: {
        tags,
        summary: 'Create a user (admin)',
        body: CreateBody,
        response: { 201: UserView, 400: Failure, 401: Refused, 403: Refused, 409: Failure },
      },
    },
    async (req, reply) => {
      const actor = req.user!;
      const created = await users.create(req.body, actor.username, req.ip);
      if (!created)
        return reply.code(409).send({ error: 'conflict', message: `user ${req.body.username} exists / 用户已存在` });
      return reply.code(201).send(userView(created));
    },
  );

  // Everyone may change their own password; users.update refuses anything else to non-admins.
  app.patch(
    '/api/users/:username',
    {
      preHandler: requireRole(...ROLES),
      schema: {
        tags,
        summary: 'Change a user: your own password (with currentPassword), or anything as admin',
        params: PatchParams,
        body: PatchBody,
        response: {
          200: UserView,
          400: Failure,
          401: Refused,
          403: Failure.or(Refused),
          404: Failure,
          409: Failure,
          429: Failure,
        },
      },
    },
    async (req, reply) => {
      const actor = req.user!;
      const r = await users.update(req.params.username, req.body, {
        user: actor,
        ip: req.ip,
        sessionHash: sessionOf.get(req),
      });
      if (!r.ok) {
        const error = {
          400: 'bad_request',
          403: 'forbidden',
          404: 'not_found',
          409: 'conflict',
          429: 'too_many_requests',
        }[r.status];
        if (r.retryAfterMs) reply.header('retry-after', String(Math.ceil(r.retryAfterMs / 1000)));
        return reply.code(r.status).send({ error, message: r.message });
      }
      return userView(r.user);
    },
  );
};

// Hooks and decorators reach the whole server, not an encapsulated child (what fastify-plugin's flag does).
(pluginImpl as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;
(pluginImpl as unknown as Record<symbol, string>)[Symbol.for('fastify.display-name')] = 'city-auth';

/** `await app.register(authPlugin, { users })`: guard, `req.user`, session and user routes. */
export const authPlugin = pluginImpl;

const closedImpl: FastifyPluginAsync<{ publicRoutes?: readonly PublicRoute[] }> = async (app, o) => {
  const publicRoutes = o.publicRoutes ?? PUBLIC_ROUTES;
  app.decorateRequest('user', null);
  app.decorateRequest('watchSession', null);
  app.addHook('onRequest', async (req, reply) => {
    const path = guardedPath(req);
    if (path === null) return;
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    if (publicRoutes.some((p) => p.method === method && p.url === path)) return;
    return reply.code(401).send(UNAUTHORIZED);
  });
};
(closedImpl as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;

/**
 * For processes that serve HTTP without the users database (ROLE=ingest, detectors, vision: health and metrics):
 * every /api route but the public ones answers 401, as the contract requires of every /api route.
 */
export const closedApiPlugin = closedImpl;
