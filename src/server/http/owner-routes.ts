/**
 * Owner API v1 (DESIGN.md "Owner API v1"), mounted by app.ts under `/v1/owner`. Every data call runs as the
 * signed-in owner inside PostgreSQL (OwnerStore), so row level security decides: there is no ownership
 * check here. A row the owner cannot see (another owner's, or none) answers 404 `not_found`; so does an id
 * that is not a uuid (nobody's id).
 */
import { Hono, type Context } from 'hono';
import type { Config } from '../config.ts';
import { ApiError } from '../errors.ts';
import { generateApiKey, generateIdentitySecret } from '../keys.ts';
import type { Logger } from '../log.ts';
import type { OwnerApi } from '../owner/owner-api.ts';
import { OwnerStoreError, type OwnerFunction, type OwnerFunctions } from '../owner/owner-store.ts';
import { bearerToken, type OwnerIdentity } from '../owner/tokens.ts';
import {
  parseBefore,
  parseCreateAgent,
  parseDays,
  parseId,
  parseInboxLimit,
  parseQuery,
  parseSignIn,
  parseUpdateAgent,
} from '../owner/validate.ts';
import { chatBodyLimit } from './body-limit.ts';
import { resolveClientIp } from './client-ip.ts';
import type { AppEnv } from './env.ts';
import { parseJsonText } from './validate.ts';
import { describeError, storeCall } from './store-call.ts';

export interface OwnerRoutesDeps {
  owner: OwnerApi;
  config: Config;
  log: Logger;
  getClientIp?: (c: Context) => string | null;
  /** Called after an agent's key, settings or existence changed (the app drops it from its agent cache). */
  onAgentChanged?: (agentId: string) => void;
}

type OwnerEnv = { Variables: AppEnv['Variables'] & { owner: OwnerIdentity } };

/** Owner bodies are small; `instructions` is the long one. */
const OWNER_BODY_BYTES = 256 * 1024;

/** The body as JSON; an empty body is an empty object (a PATCH that changes nothing). */
async function jsonBody(c: Context): Promise<unknown> {
  const text = await c.req.text();
  return text.trim() === '' ? {} : parseJsonText(text);
}

const notFound = (what: string, id: string) => new ApiError('not_found', `No ${what} with id ${id}.`);

export function ownerRoutes(deps: OwnerRoutesDeps): Hono<OwnerEnv> {
  const { owner: api, log, config } = deps;
  const app = new Hono<OwnerEnv>();

  /** One owner function as the caller; the database's refusals of bad input become 400 naming the field. */
  async function call<F extends OwnerFunction>(c: Context<OwnerEnv>, fn: F, args: OwnerFunctions[F]): Promise<unknown> {
    return storeCall(log, c.get('requestId'), fn, async () => {
      try {
        return await api.store.call(c.get('owner'), fn, args);
      } catch (err) {
        if (!(err instanceof OwnerStoreError)) throw err;
        if (err.isBadInput) {
          const field = err.field;
          const message = err.message.replace(/^supabase rpc \w+ failed: /, '');
          throw new ApiError('invalid_request', field && !message.includes(field) ? `${field}: ${message}` : message, { field, cause: err });
        }
        // PostgREST refused the token (it expired between our check and theirs, or another key signed it)
        if (/^PGRST30[0-3]$/.test(err.sqlState ?? '')) throw new ApiError('unauthorized', 'The access token is not valid.', { cause: err });
        throw err;
      }
    });
  }

  app.get('/config', (c) => {
    c.header('Cache-Control', 'no-store');
    return c.json(api.config);
  });

  app.post('/token', chatBodyLimit(16 * 1024), async (c) => {
    if (!api.local) throw new ApiError('not_found', 'This server uses Supabase Auth: sign in with supabase-js (GET /v1/owner/config).');
    const { email, password } = parseSignIn(await jsonBody(c));
    const ip = resolveClientIp(c.req.header('X-Forwarded-For'), config.trustProxy, () => deps.getClientIp?.(c) ?? null);
    const local = api.local;
    const answer = await storeCall(log, c.get('requestId'), 'sign_in', () => local.signIn(email, password, ip));
    c.header('Cache-Control', 'no-store');
    return c.json(answer);
  });

  // Everything below needs a valid owner token.
  app.use('*', async (c, next) => {
    const token = bearerToken(c.req.header('Authorization'));
    let who: OwnerIdentity;
    try {
      who = await api.verify(token);
    } catch (err) {
      if (err instanceof ApiError) throw err;
      // the stored signing secret could not be read (database down)
      log.error('owner token check failed', { request_id: c.get('requestId'), error: describeError(err) });
      throw new ApiError('unavailable', 'The service is temporarily unavailable. Please try again shortly.', { cause: err });
    }
    c.set('owner', who);
    c.header('Cache-Control', 'no-store');
    await next();
  });
  app.use('*', chatBodyLimit(OWNER_BODY_BYTES));

  app.get('/me', (c) => {
    const who = c.get('owner');
    return c.json({ id: who.id, email: who.email });
  });

  app.get('/agents', async (c) => c.json((await call(c, 'owner_agents', {})) as object));

  app.post('/agents', async (c) => {
    const fields = parseCreateAgent(await jsonBody(c));
    const agent = await call(c, 'owner_create_agent', { p_fields: fields, p_api_key: generateApiKey() });
    return c.json(agent as object, 201);
  });

  app.get('/agents/:id', async (c) => {
    const id = parseId(c.req.param('id'), 'agent');
    const agent = await call(c, 'owner_agent', { p_agent_id: id });
    if (!agent) throw notFound('agent', id);
    return c.json(agent as object);
  });

  app.patch('/agents/:id', async (c) => {
    const id = parseId(c.req.param('id'), 'agent');
    const fields = parseUpdateAgent(await jsonBody(c));
    const agent = await call(c, 'owner_update_agent', { p_agent_id: id, p_fields: fields });
    if (!agent) throw notFound('agent', id);
    deps.onAgentChanged?.(id);
    return c.json(agent as object);
  });

  app.delete('/agents/:id', async (c) => {
    const id = parseId(c.req.param('id'), 'agent');
    if (!(await call(c, 'owner_delete_agent', { p_agent_id: id }))) throw notFound('agent', id);
    deps.onAgentChanged?.(id);
    return c.body(null, 204);
  });

  // The new key works at once; the old one is refused at once by every turn (begin_turn checks the key) and by
  // this instance, and by the other widget calls of other instances once their cache entries expire (5 s).
  app.post('/agents/:id/rotate-key', async (c) => {
    const id = parseId(c.req.param('id'), 'agent');
    const agent = await call(c, 'owner_rotate_agent_key', { p_agent_id: id, p_api_key: generateApiKey() });
    if (!agent) throw notFound('agent', id);
    deps.onAgentChanged?.(id);
    return c.json(agent as object);
  });

  app.post('/agents/:id/identity-secret', async (c) => {
    const id = parseId(c.req.param('id'), 'agent');
    const answer = await call(c, 'owner_new_identity_secret', { p_agent_id: id, p_secret: generateIdentitySecret() });
    if (!answer) throw notFound('agent', id);
    return c.json(answer as object);
  });

  app.get('/agents/:id/conversations', async (c) => {
    const id = parseId(c.req.param('id'), 'agent');
    const args = {
      p_agent_id: id,
      p_limit: parseInboxLimit(c.req.query('limit')),
      p_before: parseBefore(c.req.query('before')),
      p_q: parseQuery(c.req.query('q')),
    };
    const page = await call(c, 'owner_agent_conversations', args);
    if (!page) throw notFound('agent', id);
    return c.json(page as object);
  });

  app.get('/agents/:id/daily', async (c) => {
    const id = parseId(c.req.param('id'), 'agent');
    const days = await call(c, 'owner_agent_daily', { p_agent_id: id, p_days: parseDays(c.req.query('days')) });
    if (!days) throw notFound('agent', id);
    return c.json(days as object);
  });

  app.get('/conversations/:id', async (c) => {
    const id = parseId(c.req.param('id'), 'conversation');
    const transcript = await call(c, 'owner_conversation', { p_conversation_id: id });
    if (!transcript) throw notFound('conversation', id);
    return c.json(transcript as object);
  });

  app.delete('/conversations/:id', async (c) => {
    const id = parseId(c.req.param('id'), 'conversation');
    if (!(await call(c, 'owner_delete_conversation', { p_conversation_id: id }))) throw notFound('conversation', id);
    return c.body(null, 204);
  });

  app.get('/statistics', async (c) => c.json((await call(c, 'owner_statistics', {})) as object));

  return app;
}
