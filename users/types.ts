// Users, roles and sessions: the shapes shared by the store, the service, the guard and the routes.
import { z } from 'zod';

/** staff: alerts, devices, readings; reviewer: events, review, cases; admin: everything, users. */
export const ROLES = ['staff', 'reviewer', 'admin'] as const;
export type Role = (typeof ROLES)[number];
export const RoleSchema = z.enum(ROLES);

/** Usernames are kept in lower case (logins are case-insensitive) and safe to show and log. */
export const UsernameSchema = z
  .string()
  .trim()
  .toLowerCase()
  .regex(
    /^[a-z0-9][a-z0-9_.@-]{0,63}$/,
    'a username is 1–64 letters, digits, "_", ".", "@" or "-", starting with a letter or digit',
  );

export const MIN_PASSWORD = 8;
export const PasswordSchema = z
  .string()
  .min(MIN_PASSWORD, `a password has at least ${MIN_PASSWORD} characters`)
  .max(256, 'a password has at most 256 characters');

export const DisplayNameSchema = z.string().trim().min(1).max(64);

/** Who made a request: what routes attribute changes to (`req.user`). */
export interface SessionUser {
  id: string;
  username: string;
  role: Role;
  displayName: string;
}

export interface UserRecord extends SessionUser {
  passwordHash: string;
  disabled: boolean;
  createdAt: number;
  updatedAt: number;
  /** Username of whoever created or last changed the user ("system" at start-up). */
  createdBy: string;
  updatedBy: string;
}

/** A session watched by a response that outlives its request (the live alert stream). */
export interface SessionWatch {
  /** Aborts when the session ends (logout, expiry, password change elsewhere, the user disabled) or the role changes. */
  signal: AbortSignal;
  /** Stops watching (the response ended on its own). */
  close(): void;
}

export interface SessionRecord {
  /** SHA-256 (hex) of the token in the cookie: a copy of the database does not hand out sessions. */
  tokenHash: string;
  userId: string;
  createdAt: number;
  lastSeen: number;
  expiresAt: number;
  ip: string;
  userAgent: string;
}

export type AuditAction =
  | 'login'
  | 'login_failed'
  | 'login_rate_limited'
  | 'logout'
  | 'session_expired'
  | 'user_created'
  | 'user_updated'
  | 'password_changed'
  | 'admin_password_set'
  // Cameras registered in the console (cameras/): `username` holds the camera id.
  | 'camera_created'
  | 'camera_updated'
  | 'camera_zones_changed'
  | 'camera_deleted'
  // The device registry (devices/): `username` holds the device id.
  | 'device_created'
  | 'device_updated'
  | 'devices_imported'
  | 'device_credentials_issued';

export interface AuditEntry {
  ts: number;
  action: AuditAction;
  /** The user concerned (as typed, for failed logins). */
  username: string;
  /** Who did it; "system" for start-up. */
  by: string;
  ip: string;
  detail?: string;
}

/** The public view of a user (never the hash). */
export function userView(u: UserRecord) {
  return {
    username: u.username,
    role: u.role,
    displayName: u.displayName,
    disabled: u.disabled,
    createdAt: new Date(u.createdAt).toISOString(),
    updatedAt: new Date(u.updatedAt).toISOString(),
    createdBy: u.createdBy,
    updatedBy: u.updatedBy,
  };
}

export function sessionUser(u: SessionUser): SessionUser {
  return { id: u.id, username: u.username, role: u.role, displayName: u.displayName };
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The signed-in user; set by the auth plugin's guard on every guarded /api route, null elsewhere. */
    user: SessionUser | null;
    /**
     * Watches the request's session, for a response that outlives the request (the live alert stream): set by the
     * auth plugin's guard next to `user`, null elsewhere. Call `close()` when the response ends.
     */
    watchSession: (() => SessionWatch) | null;
  }
}
