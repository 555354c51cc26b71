/**
 * Visitor tokens (X-User-Token) as a site's backend makes them, and the broken ones an attacker or a
 * misconfigured backend sends: HMAC by hand (node:crypto), so a test controls every byte.
 */
import { createHmac, randomBytes } from 'node:crypto';

const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** A fresh identity secret, as `agent update --identity-secret` makes one. */
export const newIdentitySecret = () => randomBytes(32).toString('base64url');

export function signToken(
  claims: Record<string, unknown>,
  secret: string,
  opts: { alg?: 'HS256' | 'HS384' | 'HS512' } = {},
): string {
  const alg = opts.alg ?? 'HS256';
  const head = `${b64({ alg, typ: 'JWT' })}.${b64(claims)}`;
  const sig = createHmac(`sha${alg.slice(2)}`, secret).update(head).digest('base64url');
  return `${head}.${sig}`;
}

const inAnHour = () => Math.floor(Date.now() / 1000) + 3600;

/** A valid token for `sub`. */
export const userToken = (secret: string, sub: string, extra: Record<string, unknown> = {}) =>
  signToken({ sub, exp: inAnHour(), ...extra }, secret);

/** Every kind of bad token the proxy must refuse with 401 invalid_user_token. */
export function badTokens(secret: string, otherAgentSecret: string): Record<string, string> {
  const good = userToken(secret, 'user_bad_tokens');
  const [h, p, s] = good.split('.') as [string, string, string];
  const flipped = (s[0] === 'A' ? 'B' : 'A') + s.slice(1);
  return {
    'a tampered signature': `${h}.${p}.${flipped}`,
    'a tampered payload': `${h}.${b64({ sub: 'someone_else', exp: inAnHour() })}.${s}`,
    'alg none': `${b64({ alg: 'none', typ: 'JWT' })}.${p}.`,
    HS512: signToken({ sub: 'user_bad_tokens', exp: inAnHour() }, secret, { alg: 'HS512' }),
    expired: signToken({ sub: 'user_bad_tokens', exp: Math.floor(Date.now() / 1000) - 3600 }, secret),
    'no exp': signToken({ sub: 'user_bad_tokens' }, secret),
    'no sub': signToken({ exp: inAnHour() }, secret),
    'a sub that is not a string': signToken({ sub: 42, exp: inAnHour() }, secret),
    'a sub over 255 characters': signToken({ sub: 'u'.repeat(256), exp: inAnHour() }, secret),
    "another agent's secret": userToken(otherAgentSecret, 'user_bad_tokens'),
    garbage: 'not-a-jwt',
  };
}
