/**
 * The widget calls around a conversation (DESIGN.md "Widget protocol v1, additions"): its history (with
 * `pending`), a verified user's conversations, Stop, and feedback on a reply. Each is one Store call.
 * A conversation bound to a user answers 404 `not_found` to anyone without that user's token.
 */
import type { Hono, MiddlewareHandler } from 'hono';
import type { ConversationsResponse, HistoryResponse } from '../../protocol.ts';
import { ApiError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Store } from '../store/store.ts';
import { chatBodyLimit } from './body-limit.ts';
import type { AppEnv } from './env.ts';
import { identify } from './identity.ts';
import { storeCall } from './store-call.ts';
import { isMessageId, parseFeedbackBody, parseHistoryLimit, parseSessionId } from './validate.ts';

/** Most conversations `GET /v1/conversations` lists. */
const CONVERSATIONS_MAX = 50;
/** A feedback body is tiny: session id, rating, a comment of ≤ 1000 characters. */
const FEEDBACK_BODY_BYTES = 8 * 1024;

const notFound = (what: string) => new ApiError('not_found', what);

export function visitorRoutes(api: Hono<AppEnv>, deps: { store: Store; log: Logger; agent: MiddlewareHandler<AppEnv> }): void {
  const { store, log, agent } = deps;
  const call = <T>(requestId: string, name: string, fn: () => Promise<T>) => storeCall(log, requestId, name, fn);

  api.get('/v1/sessions/:session_id/messages', agent, identify(), async (c) => {
    const sessionId = parseSessionId(c.req.param('session_id'));
    const limit = parseHistoryLimit(c.req.query('limit'));
    const { id } = c.get('agent');
    const found = await call(c.get('requestId'), 'visitorHistory', () => store.visitorHistory(id, sessionId, limit, c.get('userRef')));
    if (!found.found) throw notFound('No conversation with this session_id for this visitor.');
    c.header('Cache-Control', 'no-store');
    const body: HistoryResponse = { messages: found.messages, pending: found.pending };
    return c.json(body);
  });

  api.get('/v1/conversations', agent, identify({ required: true }), async (c) => {
    const { id } = c.get('agent');
    const userRef = c.get('userRef')!;
    const conversations = await call(c.get('requestId'), 'userConversations', () => store.userConversations(id, userRef, CONVERSATIONS_MAX));
    c.header('Cache-Control', 'no-store');
    const body: ConversationsResponse = { conversations };
    return c.json(body);
  });

  api.post('/v1/sessions/:session_id/stop', agent, identify(), async (c) => {
    const sessionId = parseSessionId(c.req.param('session_id'));
    const { id } = c.get('agent');
    const ok = await call(c.get('requestId'), 'requestStop', () => store.requestStop(id, sessionId, c.get('userRef')));
    if (!ok) throw notFound('No conversation with this session_id for this visitor.');
    return c.body(null, 204);
  });

  api.post('/v1/messages/:message_id/feedback', agent, identify(), chatBodyLimit(FEEDBACK_BODY_BYTES), async (c) => {
    const raw = c.req.param('message_id');
    let text: string;
    try {
      text = await c.req.text();
    } catch {
      throw new ApiError('invalid_request', 'the request body could not be read');
    }
    const body = parseFeedbackBody(text);
    if (!isMessageId(raw)) throw notFound('No assistant message with this id in this session.');
    const { id } = c.get('agent');
    const ok = await call(c.get('requestId'), 'setFeedback', () =>
      store.setFeedback({ agentId: id, sessionId: body.sessionId, messageId: raw, userRef: c.get('userRef'), rating: body.rating, comment: body.comment }),
    );
    if (!ok) throw notFound('No assistant message with this id in this session.');
    return c.body(null, 204);
  });
}
