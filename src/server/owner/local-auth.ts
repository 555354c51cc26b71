/**
 * Local auth (the Node server on pg or PGlite): `POST /v1/owner/token` checks an email and password against
 * auth.users.encrypted_password (bcrypt, as Supabase Auth keeps it) and issues a one-hour HS256 token.
 * Failed sign-ins are limited in PostgreSQL (local_sign_in_begin, migration 00008), so every instance shares
 * the count. These queries read the auth schema and the server's tables: they run as the database owner
 * (the service role's rights), never as an owner.
 */
import bcrypt from 'bcryptjs';
import type { Db } from '../db/db.ts';
import { ApiError } from '../errors.ts';
import { issueLocalToken, LOCAL_TOKEN_SECONDS, verifyLocalToken, type OwnerIdentity } from './tokens.ts';

/**
 * Compared against when the email is unknown, so an unknown email costs the same bcrypt work as a wrong
 * password (the answer is the same too): a bcrypt hash, cost 10, of a random text nobody knows.
 */
const DUMMY_HASH = '$2b$10$5niRblVFECaBTJBNxEEviO3R.ujFxY81ZO8FDtWwjY3lUW5WHLm8W';

export interface TokenAnswer {
  access_token: string;
  token_type: 'bearer';
  expires_in: number;
}

export interface LocalAuthOptions {
  /** The Db, or a function giving it (it may come up after the server listens). */
  db: Db | (() => Db);
  /** OWNER_JWT_SECRET; unset: a secret generated on first start and kept in the database. */
  secret?: string;
}

function randomSecret(): string {
  const bytes = new Uint8Array(32);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export class LocalAuth {
  readonly #db: () => Db;
  readonly #configured: string | undefined;
  #stored: Promise<string> | undefined;

  constructor(opts: LocalAuthOptions) {
    const db = opts.db;
    this.#db = typeof db === 'function' ? db : () => db;
    this.#configured = opts.secret || undefined;
  }

  /** The signing secret: OWNER_JWT_SECRET, else the one in the database (made by the first server to ask). */
  secret(): Promise<string> {
    if (this.#configured) return Promise.resolve(this.#configured);
    this.#stored ??= this.#db()
      .query<{ s: string }>('select public.local_auth_jwt_secret($1) as s', [randomSecret()])
      .then((r) => r.rows[0]!.s);
    // a failure (database down) is not remembered
    this.#stored.catch(() => (this.#stored = undefined));
    return this.#stored;
  }

  async verify(token: string): Promise<OwnerIdentity> {
    return verifyLocalToken(token, await this.secret());
  }

  /** A token for this email and password; 401 invalid_credentials alike for an unknown email and a wrong password. */
  async signIn(email: string, password: string, clientIp: string | null): Promise<TokenAnswer> {
    const db = this.#db();
    const normalized = email.trim().toLowerCase();
    const { rows: gate } = await db.query<{ retry: number }>('select public.local_sign_in_begin($1, $2) as retry', [normalized, clientIp]);
    const retry = gate[0]?.retry ?? 0;
    if (retry > 0) {
      throw new ApiError('rate_limited', `Too many failed sign-ins: try again in ${Math.ceil(retry / 60)} minute(s).`, { retryAfter: retry });
    }
    const { rows } = await db.query<{ id: string; email: string; hash: string | null }>(
      `select id::text as id, email::text as email, encrypted_password::text as hash
       from auth.users where lower(email) = $1 and encrypted_password is not null
       order by created_at limit 1`,
      [normalized],
    );
    const user = rows[0];
    const hash = user?.hash && /^\$2[aby]\$\d\d\$/.test(user.hash) ? user.hash : DUMMY_HASH;
    const ok = await bcrypt.compare(password, hash);
    if (!user || hash === DUMMY_HASH || !ok) throw new ApiError('invalid_credentials', 'The email or the password is wrong.');
    await db.query('select public.local_sign_in_succeeded($1)', [normalized]);
    const token = await issueLocalToken(await this.secret(), { id: user.id, email: user.email });
    return { access_token: token, token_type: 'bearer', expires_in: LOCAL_TOKEN_SECONDS };
  }
}
