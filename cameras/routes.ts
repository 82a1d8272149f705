// /api/cameras: cameras and their zones, registered in the console by an admin (users/guard requireRole). Bodies are
// checked by the camera service against the zod schemas of schema.ts; a refusal is 400 with every issue and its path
// (the zone editor marks the zone it names), 404 for an unknown camera, 409 for an id taken or a camera of the file.
// Credentials are accepted, never answered.
// An encapsulated plugin: `app.register(cameraRoutes, { cameras, models })`, with zod schemas on its routes
// (api/schemas.ts); the body schemas describe what the service checks (bodyCheckedByHandler).
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { bodyCheckedByHandler, contentAnswer, described, Failure, noBody, useZodSchemas } from '../api/schemas.js';
import { IdSchema } from '../contracts/index.js';
import { requireRole } from '../users/guard.js';
import type { ModelsConfig } from '../vision/detectors/index.js';
import { CameraSettingsSchema, ZonesBodySchema } from './schema.js';
import { CameraError, type Actor, type CameraService } from './service.js';

export interface CameraRoutesOptions {
  cameras: CameraService;
  /** The detector models a camera can use (MODELS_FILE), offered by the form with their input shape. */
  models: ModelsConfig;
}

const Params = z.strictObject({ id: IdSchema });
// The id comes from the path.
const SettingsBody = CameraSettingsSchema.extend({ id: IdSchema.optional() });
// What the answers hold, for the OpenAPI document (answers are sent as built: api/schemas.ts).
const CameraView = z.looseObject({
  origin: z.enum(['file', 'console']),
  camera: z.looseObject({ id: z.string(), district: z.string(), width: z.number().int(), height: z.number().int() }),
  hasCredentials: z.boolean(),
  latestFrame: z.object({ ts: z.number(), width: z.number().int(), height: z.number().int() }).nullable(),
});
/** The service's refusal: every issue with its path, which the zone editor marks. */
// `issues` is absent where the shared handler answers (a body that is not JSON at all).
const Refusal = Failure.extend({
  issues: z.optional(z.array(z.object({ path: z.array(z.union([z.string(), z.number()])), message: z.string() }))),
});
const Models = z.object({
  default: z.string(),
  /** The model offered for a camera registered here (a fixed street camera); null: the nearest aspect ratio's. */
  fixedCamera: z.string().nullable(),
  items: z.array(
    z.object({
      name: z.string(),
      family: z.string(),
      input: z.object({ width: z.number().int(), height: z.number().int() }).nullable(),
    }),
  ),
});

function actor(req: FastifyRequest): Actor {
  return { username: req.user!.username, ip: req.ip };
}

function refuse(reply: FastifyReply, e: unknown) {
  if (e instanceof CameraError) {
    const error = e.status === 400 ? 'bad_request' : e.status === 404 ? 'not_found' : 'conflict';
    return reply.code(e.status).send({ error, message: e.message, issues: e.issues });
  }
  throw e;
}

export const cameraRoutes: FastifyPluginAsyncZod<CameraRoutesOptions> = async (app, o) => {
  useZodSchemas(app, 'body');
  const tags = ['cameras'];
  // A malformed id answers as the service's refusals do (with `issues`, which the form reads), its first issue only.
  const badId = async (req: FastifyRequest, reply: FastifyReply) => {
    const first = req.validationError?.validation[0];
    if (first)
      return reply.code(400).send({ error: 'bad_request', message: `id: ${first.message ?? 'invalid'}`, issues: [] });
  };
  const admin = { preHandler: requireRole('admin') };
  const adminOfId = { preHandler: [requireRole('admin'), badId] };

  app.get(
    '/api/cameras',
    {
      ...admin,
      schema: {
        tags,
        summary: 'Cameras of the file and of the console (admin)',
        response: { 200: z.object({ items: z.array(CameraView) }) },
      },
    },
    async () => ({ items: o.cameras.list().map((c) => described(CameraView, c)) }),
  );

  // Each model with its input shape (null: taken from the model file), so the form can offer the one whose shape is
  // nearest the camera's own aspect ratio (the letterbox of a 16:9 frame in a square input wastes 44 % of it).
  app.get(
    '/api/cameras/models',
    {
      ...admin,
      schema: {
        tags,
        summary: 'The detector models a camera can use, with their input shape',
        response: { 200: Models },
      },
    },
    async () => ({
      default: o.models.default,
      fixedCamera: o.models.fixedCamera ?? null,
      items: o.models.models.map((m) => ({
        name: m.name,
        family: m.family,
        input: m.inputWidth && m.inputHeight ? { width: m.inputWidth, height: m.inputHeight } : null,
      })),
    }),
  );

  app.post(
    '/api/cameras',
    {
      ...admin,
      ...bodyCheckedByHandler,
      bodyLimit: 64 * 1024,
      schema: {
        tags,
        summary: 'Register a camera (admin); credentials are kept, never answered',
        body: CameraSettingsSchema,
        response: { 201: CameraView, 400: Refusal, 409: Refusal },
      },
    },
    async (req, reply) => {
      try {
        return reply.code(201).send(described(CameraView, await o.cameras.create(req.body ?? {}, actor(req))));
      } catch (e) {
        return refuse(reply, e);
      }
    },
  );

  app.get(
    '/api/cameras/:id',
    {
      ...adminOfId,
      schema: {
        tags,
        summary: 'One camera',
        params: Params,
        response: { 200: CameraView, 400: Refusal, 404: Failure },
      },
    },
    async (req, reply) => {
      const c = o.cameras.get(req.params.id);
      return c
        ? described(CameraView, c)
        : reply.code(404).send({ error: 'not_found', message: `no camera "${req.params.id}"` });
    },
  );

  app.put(
    '/api/cameras/:id',
    {
      ...adminOfId,
      ...bodyCheckedByHandler,
      bodyLimit: 64 * 1024,
      schema: {
        tags,
        summary: "A console camera's new settings; its zones stay and must still fit",
        params: Params,
        body: SettingsBody,
        response: { 200: CameraView, 400: Refusal, 404: Refusal, 409: Refusal },
      },
    },
    async (req, reply) => {
      try {
        return described(CameraView, await o.cameras.update(req.params.id, req.body ?? {}, actor(req)));
      } catch (e) {
        return refuse(reply, e);
      }
    },
  );

  app.put(
    '/api/cameras/:id/zones',
    {
      ...adminOfId,
      ...bodyCheckedByHandler,
      bodyLimit: 256 * 1024,
      schema: {
        tags,
        summary: "The zone editor's save: every zone and mask of a console camera",
        params: Params,
        body: ZonesBodySchema,
        response: { 200: CameraView, 400: Refusal, 404: Refusal, 409: Refusal },
      },
    },
    async (req, reply) => {
      try {
        return described(CameraView, await o.cameras.setZones(req.params.id, req.body ?? {}, actor(req)));
      } catch (e) {
        return refuse(reply, e);
      }
    },
  );

  app.delete(
    '/api/cameras/:id',
    {
      ...adminOfId,
      schema: {
        tags,
        summary: 'Remove a console camera',
        params: Params,
        response: { 204: noBody('removed'), 400: Refusal, 404: Refusal, 409: Refusal },
      },
    },
    async (req, reply) => {
      try {
        await o.cameras.remove(req.params.id, actor(req));
        return reply.code(204).send();
      } catch (e) {
        return refuse(reply, e);
      }
    },
  );

  // The latest frame, as the camera sent it: the zone editor draws on it in the frame's own pixels.
  app.get(
    '/api/cameras/:id/frame',
    {
      ...adminOfId,
      schema: {
        tags,
        summary: "The camera's latest frame, in its own pixels (x-captured-at: epoch ms)",
        params: Params,
        response: {
          200: contentAnswer('the frame as the camera sent it', 'image/jpeg', 'image/png'),
          400: Refusal,
          404: Failure,
        },
      },
    },
    async (req, reply) => {
      const cid = req.params.id;
      const f = o.cameras.latestFrame(cid);
      if (!f) return reply.code(404).send({ error: 'not_found', message: `no frame of camera "${cid}" yet` });
      // Folder sources may hold PNG files; cameras send JPEG.
      const type = f.jpeg[0] === 0x89 && f.jpeg[1] === 0x50 ? 'image/png' : 'image/jpeg';
      return reply
        .header('content-type', type)
        .header('cache-control', 'no-store')
        .header('x-captured-at', String(f.ts))
        .send(f.jpeg);
    },
  );
};
