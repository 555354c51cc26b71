/**
 * Owner access tokens (jose; Web Crypto only, so Node and Deno alike). Local auth issues and checks HS256
 * tokens signed with OWNER_JWT_SECRET (or the secret kept in the database). Supabase: the project's access
 * tokens, checked against its signing keys (JWKS), or the legacy shared secret where a project still signs
 * with it. Anything else (`alg: none`, another algorithm, a bad signature, expired, no `sub`, a role other
 * than `authenticated`, e.g. the anon or service key) is 401 `unauthorized`.
 */
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify, SignJWT, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { ApiError } from '../errors.ts';

/** Who calls the owner API: a row of auth.users, and the token that proved it. */
export interface OwnerIdentity {
  id: string;
  email: string | null;
  /** The verified bearer token (the Supabase store forwards it to PostgREST). */
  token: string;
  /** The verified claims (request.jwt.claims on pg/PGlite). */
  claims: JWTPayload;
}

/** One hour, as DESIGN.md says. */
export const LOCAL_TOKEN_SECONDS = 3600;
const AUDIENCE = 'authenticated';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function unauthorized(message = 'A valid owner access token is required (Authorization: Bearer <token>).'): ApiError {
  return new ApiError('unauthorized', message);
}

const keyOf = (secret: string) => new TextEncoder().encode(secret);

function identityOf(token: string, claims: JWTPayload): OwnerIdentity {
  if (typeof claims.sub !== 'string' || !UUID.test(claims.sub)) throw unauthorized('The access token names no owner.');
  if (claims.role !== 'authenticated') throw unauthorized('The access token is not a signed-in owner’s.');
  return { id: claims.sub.toLowerCase(), email: typeof claims.email === 'string' ? claims.email : null, token, claims };
}

/** The Bearer token of an Authorization header, or a 401. */
export function bearerToken(header: string | undefined): string {
  const m = /^Bearer[ ]+([A-Za-z0-9_.~+/=-]+)\s*$/i.exec(header ?? '');
  if (!m) throw unauthorized();
  return m[1]!;
}

/** A one-hour HS256 token for an owner of local auth. */
export async function issueLocalToken(secret: string, owner: { id: string; email: string | null }, now = Date.now()): Promise<string> {
  const iat = Math.floor(now / 1000);
  return new SignJWT({ email: owner.email ?? undefined, role: 'authenticated' })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(owner.id)
    .setAudience(AUDIENCE)
    .setIssuedAt(iat)
    .setExpirationTime(iat + LOCAL_TOKEN_SECONDS)
    .sign(keyOf(secret));
}

async function verifyWith(token: string, key: Uint8Array | JWTVerifyGetKey, algorithms: string[]): Promise<OwnerIdentity> {
  let claims: JWTPayload;
  try {
    // jose refuses `alg: none` and any algorithm not listed; exp is required and checked.
    const result = typeof key === 'function'
      ? await jwtVerify(token, key, { algorithms, audience: AUDIENCE, requiredClaims: ['exp', 'sub'] })
      : await jwtVerify(token, key, { algorithms, audience: AUDIENCE, requiredClaims: ['exp', 'sub'] });
    claims = result.payload;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ERR_JWT_EXPIRED') throw unauthorized('The access token has expired: sign in again.');
    // The key set could not be fetched or read (network, timeout, not a JWKS): not the caller's fault.
    if (!code?.startsWith('ERR_') || code === 'ERR_JWKS_TIMEOUT' || code === 'ERR_JWKS_INVALID') {
      throw new ApiError('unavailable', 'The signing keys of the auth server could not be fetched. Please try again.', { cause: err });
    }
    throw unauthorized('The access token is not valid.');
  }
  return identityOf(token, claims);
}

/** Checks a local-auth token (HS256 with the server's secret). */
export function verifyLocalToken(token: string, secret: string): Promise<OwnerIdentity> {
  return verifyWith(token, keyOf(secret), ['HS256']);
}

export interface SupabaseVerifierOptions {
  /** SUPABASE_URL: the keys are at `${url}/auth/v1/.well-known/jwks.json`. */
  url: string;
  /** SUPABASE_JWT_SECRET: the legacy shared secret (HS256), where the project still signs with it. */
  legacySecret?: string;
  /** The anon/publishable key: asking the project's Auth server about an HS256 token without the secret. */
  anonKey?: string;
  /** Replaces the JWKS fetch (tests). */
  jwks?: JWTVerifyGetKey;
  fetch?: typeof fetch;
}

/** Asymmetric algorithms Supabase Auth signs with (ES256 today; RS256 and EdDSA are offered). */
const JWKS_ALGORITHMS = ['ES256', 'RS256', 'EdDSA', 'Ed25519'];

/** How long an HS256 token the Auth server vouched for is taken without asking again (never past its exp). */
const VOUCHED_MS = 60_000;
const VOUCHED_MAX = 1_000;

/**
 * A verifier for a Supabase project's access tokens: its JWKS; for legacy HS256 tokens the shared secret
 * when SUPABASE_JWT_SECRET is set, else the project's Auth server (`GET /auth/v1/user` answers only for a
 * valid, unexpired, not signed-out session), remembered for a minute.
 */
export function supabaseVerifier(opts: SupabaseVerifierOptions): (token: string) => Promise<OwnerIdentity> {
  const base = opts.url.replace(/\/+$/, '');
  // createRemoteJWKSet fetches lazily, caches the keys and refetches on an unknown `kid` (key rotation).
  const jwks = opts.jwks ?? createRemoteJWKSet(new URL(`${base}/auth/v1/.well-known/jwks.json`));
  const vouched = new Map<string, { until: number; who: OwnerIdentity }>();

  async function askAuthServer(token: string): Promise<OwnerIdentity> {
    const hit = vouched.get(token);
    if (hit && hit.until > Date.now()) return hit.who;
    let claims: JWTPayload;
    try {
      claims = decodeJwt(token);
    } catch {
      throw unauthorized('The access token is not a JWT.');
    }
    if (typeof claims.exp !== 'number' || claims.exp * 1000 <= Date.now()) throw unauthorized('The access token has expired: sign in again.');
    let res: Response;
    try {
      res = await (opts.fetch ?? fetch)(`${base}/auth/v1/user`, {
        headers: { apikey: opts.anonKey ?? '', Authorization: `Bearer ${token}` },
      });
    } catch (err) {
      throw new ApiError('unavailable', 'The auth server could not be reached. Please try again.', { cause: err });
    }
    if (res.status >= 500) throw new ApiError('unavailable', 'The auth server could not check the token. Please try again.');
    const user = res.ok ? ((await res.json()) as { id?: string }) : null;
    if (!user || user.id !== claims.sub) throw unauthorized('The access token is not valid.');
    const who = identityOf(token, claims);
    if (vouched.size >= VOUCHED_MAX) vouched.delete(vouched.keys().next().value as string);
    vouched.set(token, { until: Math.min(Date.now() + VOUCHED_MS, claims.exp * 1000), who });
    return who;
  }

  return (token) => {
    let alg: string | undefined;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      throw unauthorized('The access token is not a JWT.');
    }
    if (alg === 'HS256') {
      if (opts.legacySecret) return verifyWith(token, keyOf(opts.legacySecret), ['HS256']);
      if (opts.anonKey) return askAuthServer(token);
      throw unauthorized('The access token is not valid.');
    }
    return verifyWith(token, jwks, JWKS_ALGORITHMS);
  };
}
