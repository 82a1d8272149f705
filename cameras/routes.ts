// /api/cameras: cameras and their zones, registered in the console by an admin (users/guard requireRole). Bodies are
// checked by the camera service against the zod schemas of schema.ts; a refusal is 400 with every issue and its path
// (the zone editor marks the zone it names), 404 for an unknown camera, 409 for an id taken or a camera of the file.
// Credentials are accepted, never answered.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { IdSchema } from '../contracts/index.js';
import { requireRole } from '../users/guard.js';
import type { ModelsConfig } from '../vision/detectors/index.js';
import { CameraError, type Actor, type CameraService } from './service.js';

export interface CameraRoutesOptions {
  cameras: CameraService;
  /** The detector models a camera can use (MODELS_FILE), offered by the form with their input shape. */
  models: ModelsConfig;
}

const Params = z.strictObject({ id: IdSchema });

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

export const cameraRoutes: FastifyPluginAsync<CameraRoutesOptions> = async (app, o) => {
  const admin = { preHandler: requireRole('admin') };
  const id = (req: FastifyRequest, reply: FastifyReply): string | null => {
    const p = Params.safeParse(req.params);
    if (p.success) return p.data.id;
    void reply.code(400).send({ error: 'bad_request', message: `id: ${p.error.issues[0]!.message}`, issues: [] });
    return null;
  };

  app.get('/api/cameras', admin, async () => ({ items: o.cameras.list() }));

  // Each model with its input shape (null: taken from the model file), so the form can offer the one whose shape is
  // nearest the camera's own aspect ratio (the letterbox of a 16:9 frame in a square input wastes 44 % of it).
  app.get('/api/cameras/models', admin, async () => ({
    default: o.models.default,
    items: o.models.models.map((m) => ({ name: m.name, family: m.family, input: m.inputWidth && m.inputHeight ? { width: m.inputWidth, height: m.inputHeight } : null })),
  }));

  app.post('/api/cameras', { ...admin, bodyLimit: 64 * 1024 }, async (req, reply) => {
    try {
      return reply.code(201).send(await o.cameras.create(req.body ?? {}, actor(req)));
    } catch (e) {
      return refuse(reply, e);
    }
  });

  app.get('/api/cameras/:id', admin, async (req, reply) => {
    const cid = id(req, reply);
    if (!cid) return reply;
    const c = o.cameras.get(cid);
    return c ?? reply.code(404).send({ error: 'not_found', message: `no camera "${cid}"` });
  });

  app.put('/api/cameras/:id', { ...admin, bodyLimit: 64 * 1024 }, async (req, reply) => {
    const cid = id(req, reply);
    if (!cid) return reply;
    try {
      return await o.cameras.update(cid, req.body ?? {}, actor(req));
    } catch (e) {
      return refuse(reply, e);
    }
  });

  app.put('/api/cameras/:id/zones', { ...admin, bodyLimit: 256 * 1024 }, async (req, reply) => {
    const cid = id(req, reply);
    if (!cid) return reply;
    try {
      return await o.cameras.setZones(cid, req.body ?? {}, actor(req));
    } catch (e) {
      return refuse(reply, e);
    }
  });

  app.delete('/api/cameras/:id', admin, async (req, reply) => {
    const cid = id(req, reply);
    if (!cid) return reply;
    try {
      await o.cameras.remove(cid, actor(req));
      return reply.code(204).send();
    } catch (e) {
      return refuse(reply, e);
    }
  });

  // The latest frame, as the camera sent it: the zone editor draws on it in the frame's own pixels.
  app.get('/api/cameras/:id/frame', admin, async (req, reply) => {
    const cid = id(req, reply);
    if (!cid) return reply;
    const f = o.cameras.latestFrame(cid);
    if (!f) return reply.code(404).send({ error: 'not_found', message: `no frame of camera "${cid}" yet` });
    // Folder sources may hold PNG files; cameras send JPEG.
    const type = f.jpeg[0] === 0x89 && f.jpeg[1] === 0x50 ? 'image/png' : 'image/jpeg';
    return reply.header('content-type', type).header('cache-control', 'no-store').header('x-captured-at', String(f.ts)).send(f.jpeg);
  });
};
