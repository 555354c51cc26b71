/**
 * Visitor identity: the `X-User-Token` JWT a site's backend signs with the agent's identity secret.
 * HS256 only, `sub` (≤ 255 chars) and `exp` required; any failure is 401 `invalid_user_token`, no token
 * where the agent requires one is 401 `identity_required`. The secret comes with the cached agent (never
 * sent to a visitor), so a check costs no database round trip.
 */
import type { MiddlewareHandler } from 'hono';
import { jwtVerify } from 'jose';
import { LIMITS, USER_TOKEN_HEADER } from '../../protocol.ts';
import { ApiError } from '../errors.ts';
import type { AgentPublic } from '../store/store.ts';
import type { AppEnv } from './env.ts';

/** A JWT longer than this is not one a site's backend signs for a visitor: refused before any parsing. */
const MAX_TOKEN_CHARS = 8_192;
/** Clocks of the site's backend and of the proxy may differ a little. */
const CLOCK_TOLERANCE_S = 5;

const encoder = new TextEncoder();

const invalid = (why: string) => new ApiError('invalid_user_token', `The ${USER_TOKEN_HEADER} header is not a valid visitor token: ${why}.`);

/** The verified `sub` of a visitor token, or throws 401 invalid_user_token. */
export async function verifyUserToken(token: string, secret: string | null): Promise<string> {
  if (!secret) throw invalid('this agent has no identity secret');
  if (token.length > MAX_TOKEN_CHARS) throw invalid('too long');
  let payload;
  try {
    ({ payload } = await jwtVerify(token, encoder.encode(secret), {
      algorithms: ['HS256'],
      requiredClaims: ['sub', 'exp'],
      clockTolerance: CLOCK_TOLERANCE_S,
    }));
  } catch (err) {
    const code = (err as { code?: string }).code;
    throw invalid(code === 'ERR_JWT_EXPIRED' ? 'it has expired' : code === 'ERR_JWT_CLAIM_VALIDATION_FAILED' ? (err as Error).message : 'bad signature or format');
  }
  const sub = payload.sub;
  if (typeof sub !== 'string' || sub.length === 0 || sub.length > LIMITS.userRefChars) {
    throw invalid(`"sub" must be a string of 1 to ${LIMITS.userRefChars} characters`);
  }
  return sub;
}

/**
 * The visitor's verified identity for this request (after `requireAgent`): sets `userRef` to the token's
 * `sub`, or to null without a token. `required`: a request without a token is refused (identity_required)
 * even when the agent does not require identity (e.g. the list of a user's conversations).
 */
export function identify(opts: { required?: boolean } = {}): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const agent: AgentPublic = c.get('agent');
    const token = c.req.header(USER_TOKEN_HEADER)?.trim();
    if (token) {
      c.set('userRef', await verifyUserToken(token, agent.identity_secret));
    } else if (opts.required || agent.identity_required) {
      throw new ApiError('identity_required', `This call needs the visitor's ${USER_TOKEN_HEADER} header (a token signed by the site).`);
    } else {
      c.set('userRef', null);
    }
    await next();
  };
}
