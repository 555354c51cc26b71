/**
 * What the owner routes need, built from the config: how the owner signs in (`GET /v1/owner/config`), how a
 * token is verified, and the OwnerStore that runs the owner's SQL as them.
 * - Storage over supabase-js (the Edge Function, or Node with SUPABASE_URL + a secret key): Supabase Auth;
 *   tokens verified against the project's JWKS (legacy HS256 tokens: SUPABASE_JWT_SECRET, or the project's
 *   Auth server when that secret is not given); the store
 *   calls PostgREST with the owner's token and the anon/publishable key.
 * - Storage over a Db (pg, PGlite): local auth (LocalAuth) and SqlOwnerStore.
 */
import type { JWTVerifyGetKey } from 'jose';
import type { Config } from '../config.ts';
import type { Db } from '../db/db.ts';
import { ApiError } from '../errors.ts';
import { LocalAuth } from './local-auth.ts';
import type { OwnerStore } from './owner-store.ts';
import { SqlOwnerStore } from './sql-owner-store.ts';
import { SupabaseOwnerStore } from './supabase-owner-store.ts';
import { supabaseVerifier, type OwnerIdentity } from './tokens.ts';

export type OwnerConfigAnswer = { auth: 'local' } | { auth: 'supabase'; supabase_url: string; supabase_anon_key: string };

export interface OwnerApi {
  /** The answer of `GET /v1/owner/config`. */
  readonly config: OwnerConfigAnswer;
  /** Checks a bearer token; throws ApiError 401 `unauthorized`. */
  verify(token: string): Promise<OwnerIdentity>;
  readonly store: OwnerStore;
  /** Local auth only: `POST /v1/owner/token`. */
  readonly local: LocalAuth | null;
}

export interface OwnerApiOptions {
  config: Config;
  /** 'supabase' when the proxy's storage is supabase-js, else the Db (or a function giving it, null until ready). */
  storage: 'supabase' | { db: Db | (() => Db | null) };
  /** Tests: replaces fetch for PostgREST and the JWKS lookup. */
  fetch?: typeof fetch;
  jwks?: JWTVerifyGetKey;
}

function notReady(): ApiError {
  return new ApiError('unavailable', 'The database is not ready yet. Please try again.');
}

/**
 * The owner API for this configuration. With supabase-js storage and no anon/publishable key, a clear
 * error: the console could not sign in.
 */
export function createOwnerApi(opts: OwnerApiOptions): OwnerApi {
  const { config } = opts;
  if (opts.storage === 'supabase') {
    const url = config.supabaseUrl;
    const anonKey = config.supabaseAnonKey;
    if (!url || !anonKey) {
      throw new Error('The owner API on Supabase needs SUPABASE_URL and SUPABASE_ANON_KEY (or SUPABASE_PUBLISHABLE_KEYS / SUPABASE_PUBLISHABLE_KEY).');
    }
    return {
      config: { auth: 'supabase', supabase_url: url, supabase_anon_key: anonKey },
      verify: supabaseVerifier({ url, legacySecret: config.supabaseJwtSecret, anonKey, jwks: opts.jwks, fetch: opts.fetch }),
      store: new SupabaseOwnerStore({ url, anonKey, fetch: opts.fetch }),
      local: null,
    };
  }
  if (config.ownerJwtSecret !== undefined && config.ownerJwtSecret.length < 32) {
    throw new Error('OWNER_JWT_SECRET must be at least 32 characters (or unset it: a secret is then generated and kept in the database).');
  }
  const source = opts.storage.db;
  const db = (): Db => {
    const d = typeof source === 'function' ? source() : source;
    if (!d) throw notReady();
    return d;
  };
  const local = new LocalAuth({ db, secret: config.ownerJwtSecret });
  return {
    config: { auth: 'local' },
    verify: (token) => local.verify(token),
    store: new SqlOwnerStore(db),
    local,
  };
}

/**
 * createOwnerApi for a server entry: without what the owner API needs (Supabase without an anon key), the
 * proxy still starts, the owner routes answer 404, and the log says what to set.
 */
export function ownerApiFor(opts: OwnerApiOptions, log: { warn(message: string, fields?: Record<string, unknown>): void }): OwnerApi | undefined {
  try {
    return createOwnerApi(opts);
  } catch (err) {
    log.warn(`owner API off: ${(err as Error).message}`);
    return undefined;
  }
}
