// Users, sessions and the login audit in their own DuckDB file ($DATA_DIR/users.duckdb), written by the one process
// that serves the API (ROLE=all or api). Sessions are stored by the SHA-256 of their token, never the token itself.
import type { DuckDBValue } from '@duckdb/node-api';
import { DuckDbFile } from '../store/duckdb/file.js';
import type { StoreSchema } from '../store/duckdb/schema.js';
import type { AuditEntry, Role, SessionRecord, UserRecord } from './types.js';

const USER_COLUMNS =
  'id, username, display_name, role, password_hash, disabled, created_at, updated_at, created_by, updated_by';

function rowToUser(r: DuckDBValue[]): UserRecord {
  return {
    id: r[0] as string,
    username: r[1] as string,
    displayName: r[2] as string,
    role: r[3] as Role,
    passwordHash: r[4] as string,
    disabled: r[5] as boolean,
    createdAt: Number(r[6] as bigint),
    updatedAt: Number(r[7] as bigint),
    createdBy: r[8] as string,
    updatedBy: r[9] as string,
  };
}

export interface UserPatch {
  passwordHash?: string;
  role?: Role;
  disabled?: boolean;
  displayName?: string;
}

/** The users file's schema versions (store/duckdb/schema.ts): append a step, never edit one. */
export const USER_SCHEMA: StoreSchema = {
  what: 'user store',
  migrations: [
    [
      // Usernames never change (there is no rename), so updates never touch the unique column.
      `CREATE TABLE IF NOT EXISTS users (
      id VARCHAR PRIMARY KEY, username VARCHAR NOT NULL UNIQUE, display_name VARCHAR NOT NULL, role VARCHAR NOT NULL,
      password_hash VARCHAR NOT NULL, disabled BOOLEAN NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,
      created_by VARCHAR NOT NULL, updated_by VARCHAR NOT NULL)`,
      `CREATE TABLE IF NOT EXISTS sessions (
      token_hash VARCHAR PRIMARY KEY, user_id VARCHAR NOT NULL, created_at BIGINT NOT NULL, last_seen BIGINT NOT NULL,
      expires_at BIGINT NOT NULL, ip VARCHAR NOT NULL, user_agent VARCHAR NOT NULL)`,
      `CREATE TABLE IF NOT EXISTS audit (
      ts BIGINT NOT NULL, action VARCHAR NOT NULL, username VARCHAR NOT NULL, actor VARCHAR NOT NULL, ip VARCHAR NOT NULL,
      detail VARCHAR)`,
    ],
  ],
};

export class UserStore {
  private constructor(private readonly file: DuckDbFile) {}

  static async open(file: string): Promise<UserStore> {
    return new UserStore(await DuckDbFile.open(file, USER_SCHEMA, { memoryLimit: '32MB' }));
  }

  private get db() {
    return this.file.db;
  }

  // One statement at a time: DuckDB connections are not meant for concurrent statements.
  private serial<T>(f: () => Promise<T>): Promise<T> {
    return this.file.serial(f);
  }

  countUsers(): Promise<number> {
    return this.serial(async () =>
      Number((await this.db.runAndReadAll('SELECT count(*)::BIGINT FROM users')).getRows()[0]![0] as bigint),
    );
  }

  /** Enabled admins: the last one may not be disabled or demoted. */
  countActiveAdmins(): Promise<number> {
    return this.serial(async () =>
      Number(
        (
          await this.db.runAndReadAll(`SELECT count(*)::BIGINT FROM users WHERE role = 'admin' AND NOT disabled`)
        ).getRows()[0]![0] as bigint,
      ),
    );
  }

  getByUsername(username: string): Promise<UserRecord | null> {
    return this.serial(async () => {
      const row = (
        await this.db.runAndReadAll(`SELECT ${USER_COLUMNS} FROM users WHERE username = $u`, { u: username })
      ).getRows()[0];
      return row ? rowToUser(row) : null;
    });
  }

  list(): Promise<UserRecord[]> {
    return this.serial(async () =>
      (await this.db.runAndReadAll(`SELECT ${USER_COLUMNS} FROM users ORDER BY username`)).getRows().map(rowToUser),
    );
  }

  /** Inserts a user; false when the username is taken. */
  create(u: UserRecord): Promise<boolean> {
    return this.serial(async () => {
      const taken =
        (await this.db.runAndReadAll('SELECT 1 FROM users WHERE username = $u', { u: u.username })).getRows().length >
        0;
      if (taken) return false;
      await this.db.run(
        `INSERT INTO users (${USER_COLUMNS}) VALUES ($id, $u, $dn, $role, $h, $dis, $ca, $ua, $cb, $ub)`,
        {
          id: u.id,
          u: u.username,
          dn: u.displayName,
          role: u.role,
          h: u.passwordHash,
          dis: u.disabled,
          ca: BigInt(u.createdAt),
          ua: BigInt(u.updatedAt),
          cb: u.createdBy,
          ub: u.updatedBy,
        },
      );
      return true;
    });
  }

  update(username: string, patch: UserPatch, by: string, at: number): Promise<UserRecord | null> {
    return this.serial(async () => {
      const sets: string[] = ['updated_at = $at', 'updated_by = $by'];
      const p: Record<string, DuckDBValue> = { u: username, at: BigInt(at), by };
      if (patch.passwordHash !== undefined) {
        sets.push('password_hash = $h');
        p.h = patch.passwordHash;
      }
      if (patch.role !== undefined) {
        sets.push('role = $role');
        p.role = patch.role;
      }
      if (patch.disabled !== undefined) {
        sets.push('disabled = $dis');
        p.dis = patch.disabled;
      }
      if (patch.displayName !== undefined) {
        sets.push('display_name = $dn');
        p.dn = patch.displayName;
      }
      await this.db.run(`UPDATE users SET ${sets.join(', ')} WHERE username = $u`, p);
      const row = (
        await this.db.runAndReadAll(`SELECT ${USER_COLUMNS} FROM users WHERE username = $u`, { u: username })
      ).getRows()[0];
      return row ? rowToUser(row) : null;
    });
  }

  createSession(s: SessionRecord): Promise<void> {
    return this.serial(async () => {
      await this.db.run('INSERT INTO sessions VALUES ($t, $uid, $ca, $ls, $ea, $ip, $ua)', {
        t: s.tokenHash,
        uid: s.userId,
        ca: BigInt(s.createdAt),
        ls: BigInt(s.lastSeen),
        ea: BigInt(s.expiresAt),
        ip: s.ip,
        ua: s.userAgent,
      });
    });
  }

  /** The session and its user, in one read (every guarded request does this). */
  getSession(tokenHash: string): Promise<{ session: SessionRecord; user: UserRecord } | null> {
    return this.serial(async () => {
      const cols = USER_COLUMNS.split(', ')
        .map((c) => `u.${c}`)
        .join(', ');
      const row = (
        await this.db.runAndReadAll(
          `SELECT ${cols}, s.created_at, s.last_seen, s.expires_at, s.ip, s.user_agent
           FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $t`,
          { t: tokenHash },
        )
      ).getRows()[0];
      if (!row) return null;
      const user = rowToUser(row);
      return {
        user,
        session: {
          tokenHash,
          userId: user.id,
          createdAt: Number(row[10] as bigint),
          lastSeen: Number(row[11] as bigint),
          expiresAt: Number(row[12] as bigint),
          ip: row[13] as string,
          userAgent: row[14] as string,
        },
      };
    });
  }

  touchSession(tokenHash: string, lastSeen: number, expiresAt: number): Promise<void> {
    return this.serial(async () => {
      await this.db.run('UPDATE sessions SET last_seen = $ls, expires_at = $ea WHERE token_hash = $t', {
        t: tokenHash,
        ls: BigInt(lastSeen),
        ea: BigInt(expiresAt),
      });
    });
  }

  deleteSession(tokenHash: string): Promise<void> {
    return this.serial(async () => {
      await this.db.run('DELETE FROM sessions WHERE token_hash = $t', { t: tokenHash });
    });
  }

  /** Ends a user's sessions (password changed, disabled), except the one making the change. */
  deleteSessionsOf(userId: string, exceptTokenHash?: string): Promise<void> {
    return this.serial(async () => {
      await this.db.run('DELETE FROM sessions WHERE user_id = $uid AND token_hash <> $keep', {
        uid: userId,
        keep: exceptTokenHash ?? '',
      });
    });
  }

  deleteExpiredSessions(now: number): Promise<void> {
    return this.serial(async () => {
      await this.db.run('DELETE FROM sessions WHERE expires_at <= $now', { now: BigInt(now) });
    });
  }

  countSessions(userId?: string): Promise<number> {
    return this.serial(async () => {
      const r = userId
        ? await this.db.runAndReadAll('SELECT count(*)::BIGINT FROM sessions WHERE user_id = $uid', { uid: userId })
        : await this.db.runAndReadAll('SELECT count(*)::BIGINT FROM sessions');
      return Number(r.getRows()[0]![0] as bigint);
    });
  }

  audit(e: AuditEntry): Promise<void> {
    return this.serial(async () => {
      await this.db.run('INSERT INTO audit VALUES ($ts, $a, $u, $by, $ip, $d)', {
        ts: BigInt(e.ts),
        a: e.action,
        u: e.username,
        by: e.by,
        ip: e.ip,
        d: e.detail ?? null,
      });
    });
  }

  /** The newest audit entries first; optionally of a period [from, to), one action, one user (as subject or actor). */
  listAudit(
    limit = 100,
    f: { from?: number; to?: number; action?: string; user?: string } = {},
  ): Promise<AuditEntry[]> {
    const where: string[] = [];
    const params: Record<string, DuckDBValue> = {};
    if (f.from !== undefined) {
      where.push('ts >= $from');
      params.from = BigInt(f.from);
    }
    if (f.to !== undefined) {
      where.push('ts < $to');
      params.to = BigInt(f.to);
    }
    if (f.action) {
      where.push('action = $action');
      params.action = f.action;
    }
    if (f.user) {
      where.push('(username = $user OR actor = $user)');
      params.user = f.user;
    }
    const sql = `SELECT ts, action, username, actor, ip, detail FROM audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ts DESC, rowid DESC LIMIT ${Math.trunc(limit)}`;
    return this.serial(async () =>
      (await this.db.runAndReadAll(sql, params)).getRows().map((r) => {
        const e: AuditEntry = {
          ts: Number(r[0] as bigint),
          action: r[1] as AuditEntry['action'],
          username: r[2] as string,
          by: r[3] as string,
          ip: r[4] as string,
        };
        if (r[5] !== null) e.detail = r[5] as string;
        return e;
      }),
    );
  }

  close(): Promise<void> {
    return this.file.close();
  }
}
