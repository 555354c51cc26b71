/**
 * Owners for owner API tests: a row of auth.users with a bcrypt password (cost 10, `$2b$`, as Supabase Auth
 * and the `owner create` command keep it), inserted with plain SQL; and access tokens minted the way a
 * Supabase project's Auth server signs them (ES256 with a key published as JWKS, or the legacy HS256 secret).
 */
import bcrypt from 'bcryptjs';
import { exportJWK, generateKeyPair, SignJWT, type JSONWebKeySet, type JWTPayload } from 'jose';
import type { Db } from '../../src/server/db/db.ts';

export interface TestOwner {
  id: string;
  email: string;
  password: string;
}

/** Inserts an owner; `password` null: no password (a Supabase Auth user as this repo's tests make them). */
export async function insertOwner(db: Pick<Db, 'query'>, email: string, password: string | null = `pw-${email}-long enough`): Promise<TestOwner> {
  const hash = password === null ? null : await bcrypt.hash(password, 10);
  const { rows } = await db.query<{ id: string }>('insert into auth.users (email, encrypted_password) values ($1, $2) returning id', [email, hash]);
  return { id: rows[0]!.id, email, password: password ?? '' };
}

/** A Supabase-like Auth server's signing key: publish `jwks`, sign with `sign`. */
export interface SigningKey {
  jwks: JSONWebKeySet;
  sign(claims: JWTPayload, opts?: { expiresIn?: number; alg?: string }): Promise<string>;
}

export async function supabaseSigningKey(kid = 'test-key-1'): Promise<SigningKey> {
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
  return {
    jwks: { keys: [jwk] },
    sign: (claims, opts = {}) => {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT(claims)
        .setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' })
        .setIssuedAt(now)
        .setExpirationTime(now + (opts.expiresIn ?? 3600))
        .sign(privateKey);
    },
  };
}

/** An access token as Supabase Auth issues for a signed-in user. */
export function userClaims(owner: { id: string; email: string }): JWTPayload {
  return { sub: owner.id, email: owner.email, role: 'authenticated', aud: 'authenticated', aal: 'aal1', session_id: crypto.randomUUID() };
}

/** HS-signed token with any algorithm and secret (local tokens, the legacy Supabase secret, and forgeries). */
export function hsToken(secret: string, claims: JWTPayload, opts: { alg?: 'HS256' | 'HS384' | 'HS512'; expiresIn?: number } = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: opts.alg ?? 'HS256', typ: 'JWT' })
    .setIssuedAt(now)
    .setExpirationTime(now + (opts.expiresIn ?? 3600))
    .sign(new TextEncoder().encode(secret));
}

/** An unsigned token (`alg: none`) with these claims. */
export function unsignedToken(claims: JWTPayload): string {
  const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  return `${enc({ alg: 'none', typ: 'JWT' })}.${enc({ exp: Math.floor(Date.now() / 1000) + 3600, ...claims })}.`;
}
