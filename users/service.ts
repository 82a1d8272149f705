// Logins, sessions and user management on top of the store: what the routes and the guard call. Passwords are
// checked with scrypt (kdf.ts); a session is a random 32-byte token in an HttpOnly cookie, stored as its SHA-256;
// password checks pass the login throttle first (throttle.ts), which counts them per address, per account and address,
// and per account from the moment they start.
import crypto from 'node:crypto';
import { ConfigError } from '../runtime/config.js';
import type { Logger } from '../runtime/log.js';
import { hashPassword, PASSWORD_KDF, randomSecret, sha256, verifyPassword, type ScryptParams } from './kdf.js';
import { LoginThrottle, type LoginLimits } from './throttle.js';
import type { UserPatch, UserStore } from './store.js';
import {
  MIN_PASSWORD,
  sessionUser,
  type AuditAction,
  type Role,
  type SessionRecord,
  type SessionUser,
  type SessionWatch,
  type UserRecord,
} from './types.js';

export interface UsersOptions {
  store: UserStore;
  logger: Logger;
  /** A session ends after this long without a request. Default 12 h. */
  sessionIdleMs?: number;
  /** ... and this long after the login, however busy. Default 7 days. */
  sessionMaxMs?: number;
  /** The login throttle's limits (throttle.ts, DEFAULT_LOGIN_LIMITS). */
  limits?: Partial<LoginLimits>;
  /** Watched sessions (watchSession) are re-read this often, for expiry. Default 60 s. */
  sessionRecheckMs?: number;
  /** scrypt cost of new hashes (tests use a cheaper one). Default N=2^15, r=8, p=1. */
  kdf?: ScryptParams;
  now?: () => number;
}

export type LoginResult =
  | { ok: true; user: SessionUser; token: string; expiresAt: number }
  | { ok: false; reason: 'invalid' }
  | { ok: false; reason: 'rate_limited'; retryAfterMs: number };

export type UpdateResult =
  | { ok: true; user: UserRecord }
  | { ok: false; status: 400 | 403 | 404 | 409 | 429; message: string; retryAfterMs?: number };

/** Who asks for a change, and from where. */
export interface Actor {
  user: SessionUser;
  ip: string;
  /** SHA-256 of the actor's own session token, kept when their other sessions end. */
  sessionHash?: string;
}

// last_seen is written at most once a minute per session: a console polling every few seconds would otherwise write
// to the database on every request. Idle expiry is therefore exact to a minute.
const TOUCH_EVERY_MS = 60_000;
const TOKEN_RE = /^[A-Za-z0-9_-]{43}$/;

export const ADMIN_USERNAME = 'admin';

export class Users {
  readonly idleMs: number;
  readonly maxMs: number;
  private readonly now: () => number;
  private readonly kdf: ScryptParams;
  readonly throttle: LoginThrottle;
  // Verified against for unknown usernames, so that they cost the same time as a wrong password.
  private dummyHash: Promise<string> | null = null;
  private readonly limitedNoted = new Map<string, number>();
  /** Watched sessions by token hash: their user and the signals to abort. */
  private readonly watched = new Map<string, { user: SessionUser; controllers: Set<AbortController> }>();
  private recheckTimer: NodeJS.Timeout | null = null;

  constructor(private readonly o: UsersOptions) {
    this.now = o.now ?? Date.now;
    this.idleMs = o.sessionIdleMs ?? 12 * 3600_000;
    this.maxMs = o.sessionMaxMs ?? 7 * 24 * 3600_000;
    this.kdf = o.kdf ?? PASSWORD_KDF;
    this.throttle = new LoginThrottle(o.limits, this.now);
  }

  get store(): UserStore {
    return this.o.store;
  }

  hash(password: string): Promise<string> {
    return hashPassword(password, this.kdf);
  }

  private audit(action: AuditAction, username: string, by: string, ip: string, detail?: string): Promise<void> {
    return this.o.store.audit({ ts: this.now(), action, username: username.slice(0, 64), by, ip, detail });
  }

  /**
   * Checks a username and password. An unknown user, a disabled one and a wrong password give the same answer
   * after the same work. Failures are logged at warn with the username and IP, never the password.
   */
  async login(usernameIn: string, password: string, ip: string, userAgent = ''): Promise<LoginResult> {
    const username = usernameIn.trim().toLowerCase();
    const admission = this.throttle.admit(username, ip);
    if (!admission.ok) {
      const wait = admission.retryAfterMs;
      // Refused attempts cost nothing to send: logged and audited once a minute per username and address.
      const key = `${username}\0${ip}`;
      const t = this.now();
      if ((this.limitedNoted.get(key) ?? -Infinity) <= t - 60_000) {
        if (this.limitedNoted.size >= 10_000) this.limitedNoted.clear();
        this.limitedNoted.set(key, t);
        this.o.logger.warn({ username: username.slice(0, 64), ip }, 'login refused: too many failed attempts');
        await this.audit('login_rate_limited', username, username, ip);
      }
      return { ok: false, reason: 'rate_limited', retryAfterMs: wait };
    }
    const attempt = admission.attempt;
    let user: UserRecord | null;
    let good: boolean;
    try {
      user = await this.o.store.getByUsername(username);
      this.dummyHash ??= hashPassword(randomSecret(), this.kdf);
      good = await verifyPassword(password, user?.passwordHash ?? (await this.dummyHash));
    } catch (e) {
      attempt.failed();
      throw e;
    }
    if (!user || !good || user.disabled) {
      attempt.failed();
      const why = !user ? 'unknown user' : !good ? 'wrong password' : 'user disabled';
      this.o.logger.warn({ username: username.slice(0, 64), ip, why }, 'login failed');
      await this.audit('login_failed', username, username, ip, why);
      return { ok: false, reason: 'invalid' };
    }
    attempt.succeeded();
    const token = randomSecret(32);
    const t = this.now();
    const s: SessionRecord = {
      tokenHash: sha256(token).toString('hex'),
      userId: user.id,
      createdAt: t,
      lastSeen: t,
      expiresAt: Math.min(t + this.idleMs, t + this.maxMs),
      ip,
      userAgent: userAgent.slice(0, 256),
    };
    await this.o.store.deleteExpiredSessions(t);
    await this.o.store.createSession(s);
    await this.audit('login', username, username, ip);
    this.o.logger.info({ username, ip }, 'login');
    return { ok: true, user: sessionUser(user), token, expiresAt: s.expiresAt };
  }

  /** The user behind a session token, or null (unknown, expired, or the user disabled). Extends an idle session. */
  async authenticate(token: string | undefined): Promise<{ user: SessionUser; sessionHash: string } | null> {
    if (!token || !TOKEN_RE.test(token)) return null;
    const tokenHash = sha256(token).toString('hex');
    const found = await this.o.store.getSession(tokenHash);
    if (!found) return null;
    const { session, user } = found;
    const t = this.now();
    if (t >= session.expiresAt || user.disabled) {
      this.endWatched((h) => h === tokenHash, 'session expired');
      await this.o.store.deleteSession(tokenHash);
      await this.audit(
        'session_expired',
        user.username,
        user.username,
        session.ip,
        user.disabled ? 'user disabled' : undefined,
      );
      return null;
    }
    if (t - session.lastSeen >= TOUCH_EVERY_MS) {
      await this.o.store.touchSession(tokenHash, t, Math.min(t + this.idleMs, session.createdAt + this.maxMs));
    }
    return { user: sessionUser(user), sessionHash: tokenHash };
  }

  /**
   * Watches a session for a response that outlives its request: the signal aborts when the session ends or the
   * user's role changes (both as they happen in this process, the one that writes users.duckdb), and every
   * `sessionRecheckMs` the session is read again, so idle and absolute expiry end it too.
   */
  watchSession(sessionHash: string, user: SessionUser): SessionWatch {
    const c = new AbortController();
    let w = this.watched.get(sessionHash);
    if (!w) this.watched.set(sessionHash, (w = { user, controllers: new Set() }));
    w.controllers.add(c);
    this.recheckTimer ??= setInterval(() => void this.recheckWatched(), this.o.sessionRecheckMs ?? 60_000).unref();
    return { signal: c.signal, close: () => this.unwatch(sessionHash, c) };
  }

  private unwatch(sessionHash: string, c: AbortController): void {
    const w = this.watched.get(sessionHash);
    if (!w) return;
    w.controllers.delete(c);
    if (w.controllers.size === 0) this.watched.delete(sessionHash);
    if (this.watched.size === 0 && this.recheckTimer) {
      clearInterval(this.recheckTimer);
      this.recheckTimer = null;
    }
  }

  /** Aborts the watchers of the sessions `which` picks. */
  private endWatched(which: (sessionHash: string, user: SessionUser) => boolean, reason: string): void {
    for (const [hash, w] of [...this.watched]) {
      if (!which(hash, w.user)) continue;
      for (const c of [...w.controllers]) {
        c.abort(reason);
        this.unwatch(hash, c);
      }
    }
  }

  private async recheckWatched(): Promise<void> {
    for (const [hash, w] of [...this.watched]) {
      const found = await this.o.store.getSession(hash).catch(() => undefined);
      if (found === undefined) continue; // the store failed: judge it next time
      const gone =
        !found || this.now() >= found.session.expiresAt || found.user.disabled || found.user.role !== w.user.role;
      if (gone)
        this.endWatched(
          (h) => h === hash,
          !found || this.now() >= found.session.expiresAt ? 'session expired' : 'user changed',
        );
    }
  }

  async logout(sessionHash: string, user: SessionUser, ip: string): Promise<void> {
    this.endWatched((h) => h === sessionHash, 'logged out');
    await this.o.store.deleteSession(sessionHash);
    await this.audit('logout', user.username, user.username, ip);
    this.o.logger.info({ username: user.username, ip }, 'logout');
  }

  list(): Promise<UserRecord[]> {
    return this.o.store.list();
  }

  /** Creates a user; null when the username is taken. */
  async create(
    u: { username: string; password: string; role: Role; displayName?: string },
    by: string,
    ip: string,
  ): Promise<UserRecord | null> {
    const t = this.now();
    const rec: UserRecord = {
      id: crypto.randomUUID(),
      username: u.username,
      displayName: u.displayName ?? u.username,
      role: u.role,
      passwordHash: await this.hash(u.password),
      disabled: false,
      createdAt: t,
      updatedAt: t,
      createdBy: by,
      updatedBy: by,
    };
    if (!(await this.o.store.create(rec))) return null;
    await this.audit('user_created', rec.username, by, ip, `role=${rec.role}`);
    this.o.logger.info({ username: rec.username, role: rec.role, by }, 'user created');
    return rec;
  }

  /**
   * Changes a user. Admins change anyone's role, status, display name and password; everyone may change their own
   * password with their current one (admins too: a stolen admin session must not be enough to take the account).
   * The last enabled admin cannot be disabled or demoted.
   */
  async update(
    username: string,
    change: { password?: string; currentPassword?: string; role?: Role; disabled?: boolean; displayName?: string },
    actor: Actor,
  ): Promise<UpdateResult> {
    const self = actor.user.username === username;
    const isAdmin = actor.user.role === 'admin';
    const adminFields = change.role !== undefined || change.disabled !== undefined || change.displayName !== undefined;
    if (!isAdmin && (!self || adminFields)) {
      return {
        ok: false,
        status: 403,
        message: 'only an admin may change other users, roles or status / 只有管理员可以修改其他用户、角色或状态',
      };
    }
    const target = await this.o.store.getByUsername(username);
    if (!target) return { ok: false, status: 404, message: `no user ${username} / 用户不存在` };
    if (change.password === undefined && !adminFields) {
      return { ok: false, status: 400, message: 'nothing to change: give password, role, disabled or displayName' };
    }
    if (self && change.password !== undefined) {
      if (change.currentPassword === undefined) {
        return {
          ok: false,
          status: 400,
          message: 'changing your own password needs currentPassword / 修改自己的密码需要提供当前密码',
        };
      }
      const admission = this.throttle.admit(username, actor.ip);
      if (!admission.ok) {
        return {
          ok: false,
          status: 429,
          message: 'too many failed attempts, try again later / 尝试次数过多，请稍后再试',
          retryAfterMs: admission.retryAfterMs,
        };
      }
      const right = await verifyPassword(change.currentPassword, target.passwordHash).catch((e: unknown) => {
        admission.attempt.failed();
        throw e;
      });
      if (right) admission.attempt.succeeded();
      else {
        admission.attempt.failed();
        this.o.logger.warn({ username, ip: actor.ip }, 'password change refused: wrong current password');
        await this.audit('login_failed', username, username, actor.ip, 'wrong current password (password change)');
        return { ok: false, status: 403, message: 'the current password is wrong / 当前密码不正确' };
      }
    }
    const losesAdmin =
      target.role === 'admin' &&
      !target.disabled &&
      (change.disabled === true || (change.role !== undefined && change.role !== 'admin'));
    if (losesAdmin && (await this.o.store.countActiveAdmins()) <= 1) {
      return {
        ok: false,
        status: 409,
        message: 'the last enabled admin cannot be disabled or demoted / 不能停用或降级最后一个管理员',
      };
    }
    const patch: UserPatch = {};
    if (change.password !== undefined) patch.passwordHash = await this.hash(change.password);
    if (change.role !== undefined) patch.role = change.role;
    if (change.disabled !== undefined) patch.disabled = change.disabled;
    if (change.displayName !== undefined) patch.displayName = change.displayName;
    const updated = await this.o.store.update(username, patch, actor.user.username, this.now());
    if (!updated) return { ok: false, status: 404, message: `no user ${username} / 用户不存在` };
    // A new password or a disabled account ends the user's other sessions (someone else may hold one).
    if (change.password !== undefined || change.disabled === true) {
      await this.o.store.deleteSessionsOf(target.id, self ? actor.sessionHash : undefined);
    }
    // What outlives its request (the live alert stream) ends with the sessions, and on a role change, so that the
    // guard judges the new role when it reconnects.
    const keep = self && change.disabled !== true && change.role === undefined ? actor.sessionHash : undefined;
    if (
      change.password !== undefined ||
      change.disabled === true ||
      (change.role !== undefined && change.role !== target.role)
    ) {
      this.endWatched(
        (h, u) => u.id === target.id && h !== keep,
        change.disabled === true
          ? 'user disabled'
          : change.password !== undefined
            ? 'password changed'
            : 'role changed',
      );
    }
    const fields = Object.keys(change).filter((k) => k !== 'password' && k !== 'currentPassword');
    if (change.password !== undefined) await this.audit('password_changed', username, actor.user.username, actor.ip);
    if (fields.length > 0) {
      await this.audit(
        'user_updated',
        username,
        actor.user.username,
        actor.ip,
        fields.map((k) => `${k}=${String(change[k as keyof typeof change])}`).join(' '),
      );
    }
    this.o.logger.info(
      { username, by: actor.user.username, fields: change.password !== undefined ? [...fields, 'password'] : fields },
      'user changed',
    );
    return { ok: true, user: updated };
  }

  /**
   * At start. ADMIN_PASSWORD (when given) is the password of `admin` on the first start only, when there is no
   * `admin` yet: applied at every start it silently undid a password change and re-enabled a disabled admin. Set but
   * ignored, it is logged at warn. Without it the very first start creates `admin` with a random password and prints
   * it once, through `print` (stdout), never through the logger. A lost admin password: `resetAdmin` (admin-main.ts).
   */
  async ensureAdmin(o: {
    adminPassword?: string;
    print?: (line: string) => void;
  }): Promise<{ created: boolean; printed: boolean }> {
    const print = o.print ?? ((line: string) => void process.stdout.write(`${line}\n`));
    const existing = await this.o.store.getByUsername(ADMIN_USERNAME);
    if (o.adminPassword !== undefined) {
      if (o.adminPassword.length < MIN_PASSWORD)
        throw new ConfigError(`ADMIN_PASSWORD must have at least ${MIN_PASSWORD} characters`);
      if (!existing) {
        await this.create(
          { username: ADMIN_USERNAME, password: o.adminPassword, role: 'admin', displayName: '管理员 Administrator' },
          'system',
          'local',
        );
        await this.audit('admin_password_set', ADMIN_USERNAME, 'system', 'local', 'ADMIN_PASSWORD');
        this.o.logger.info({ username: ADMIN_USERNAME }, 'admin created with the password from ADMIN_PASSWORD');
        return { created: true, printed: false };
      }
      this.o.logger.warn(
        { username: ADMIN_USERNAME },
        'ADMIN_PASSWORD is set but NOT applied: admin exists, and ADMIN_PASSWORD only sets the password of the first start. ' +
          'Unset it; to reset a lost admin password stop the platform and run `npx tsx users/admin-main.ts reset-admin` ' +
          '/ ADMIN_PASSWORD 已设置但未生效：管理员已存在',
      );
      return { created: false, printed: false };
    }
    if (existing || (await this.o.store.countUsers()) > 0) return { created: false, printed: false };
    const password = randomSecret(12);
    await this.create(
      { username: ADMIN_USERNAME, password, role: 'admin', displayName: '管理员 Administrator' },
      'system',
      'local',
    );
    print(
      `首次启动：已创建管理员账号 admin，密码 ${password} （只显示这一次，请登录后修改；忘记时用 users/admin-main.ts reset-admin 重设）` +
        ` | First start: created the administrator "admin" with password ${password} (shown only this once; change it after logging in; reset it with users/admin-main.ts reset-admin)`,
    );
    return { created: true, printed: true };
  }

  /**
   * The way back in when the admin password is lost (admin-main.ts, with the platform stopped): `admin` gets a new
   * random password, is enabled and made admin (created if missing), and every session of it ends. Returns the
   * password, to be shown once.
   */
  async resetAdmin(): Promise<string> {
    const password = randomSecret(12);
    const existing = await this.o.store.getByUsername(ADMIN_USERNAME);
    if (!existing) {
      await this.create(
        { username: ADMIN_USERNAME, password, role: 'admin', displayName: '管理员 Administrator' },
        'system',
        'local',
      );
    } else {
      await this.o.store.update(
        ADMIN_USERNAME,
        { passwordHash: await this.hash(password), disabled: false, role: 'admin' },
        'system',
        this.now(),
      );
      await this.o.store.deleteSessionsOf(existing.id);
      this.endWatched((_h, u) => u.id === existing.id, 'password changed');
    }
    await this.audit('admin_password_set', ADMIN_USERNAME, 'system', 'local', 'reset-admin');
    this.o.logger.warn({ username: ADMIN_USERNAME }, 'admin password reset (reset-admin)');
    return password;
  }
}
