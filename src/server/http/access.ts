import type { MiddlewareHandler } from 'hono';
import { API_KEY_HEADER } from '../../protocol.ts';
import { ApiError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { AgentCache } from './agent-cache.ts';
import type { AppEnv } from './env.ts';
import { isOriginAllowed } from './origin.ts';
import { storeCall } from './store-call.ts';

/** `agents.api_key` is varchar(500): anything longer cannot match, so it costs no query. */
const MAX_KEY_LENGTH = 500;

export const refusalMessages = {
  invalid_api_key: 'The X-Api-Key header does not match any agent.',
  agent_inactive: 'This agent is not active.',
  origin_not_allowed: 'This website is not allowed to use this agent.',
  rate_limited: 'Too many messages. Please wait a moment and try again.',
  identity_required: "This assistant needs to know who you are: the site must send the visitor's X-User-Token.",
  not_found: 'No such conversation.',
  reply_in_progress: 'A reply in this conversation is already on its way. Please wait for it.',
} as const;

/**
 * Guards the `/v1/*` routes: the widget key (401), the origin allowlist for browser requests (403, checked
 * before `is_active` so a foreign site learns nothing about the agent), then `is_active` (403).
 * Uses the agent cache: no database round trip in the steady state.
 */
export function requireAgent(cache: AgentCache, log: Logger): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const apiKey = c.req.header(API_KEY_HEADER)?.trim();
    if (!apiKey) throw new ApiError('invalid_api_key', `The ${API_KEY_HEADER} header is missing.`);
    const agent =
      apiKey.length > MAX_KEY_LENGTH
        ? null
        : await storeCall(log, c.get('requestId'), 'agentByKey', () => cache.get(apiKey));
    if (!agent) throw new ApiError('invalid_api_key', refusalMessages.invalid_api_key);
    const origin = c.req.header('Origin');
    if (origin !== undefined && !isOriginAllowed(origin, agent.allowed_origins)) {
      throw new ApiError('origin_not_allowed', refusalMessages.origin_not_allowed);
    }
    if (!agent.is_active) throw new ApiError('agent_inactive', refusalMessages.agent_inactive);
    c.set('agent', agent);
    c.set('apiKey', apiKey);
    await next();
  };
}
