// Users, roles and sessions of the console and the API. See README.md.
import path from 'node:path';
import { Users, type UsersOptions } from './service.js';
import { UserStore } from './store.js';

export { authPlugin, closedApiPlugin, type AuthPluginOptions } from './plugin.js';
export {
  requireRole,
  ROUTE_ROLES,
  PUBLIC_ROUTES,
  ruleFor,
  roleAllowed,
  type RouteRule,
  type PublicRoute,
} from './guard.js';
export { Users, ADMIN_USERNAME, type UsersOptions, type LoginResult } from './service.js';
export { UserStore } from './store.js';
export { hashPassword, verifyPassword, PASSWORD_KDF, MACHINE_SECRET_KDF, type ScryptParams } from './kdf.js';
export { ROLES, RoleSchema, type Role, type SessionUser, type SessionWatch, type UserRecord } from './types.js';

export interface StartUsersOptions extends Omit<UsersOptions, 'store'> {
  /** users.duckdb goes here. */
  dataDir: string;
  /** ADMIN_PASSWORD: sets admin's password at start. */
  adminPassword?: string;
  /** Where the first start's generated admin password is printed; default stdout. */
  print?: (line: string) => void;
}

/** Opens $DATA_DIR/users.duckdb and makes sure there is an admin (ADMIN_PASSWORD, or a first-start password). */
export async function startUsers(o: StartUsersOptions): Promise<{ users: Users; close(): Promise<void> }> {
  const store = await UserStore.open(path.join(o.dataDir, 'users.duckdb'));
  try {
    const users = new Users({ ...o, store });
    await users.ensureAdmin({ adminPassword: o.adminPassword, print: o.print });
    return { users, close: () => store.close() };
  } catch (e) {
    await store.close();
    throw e;
  }
}
