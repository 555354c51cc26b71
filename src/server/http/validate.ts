import { z } from 'zod';
import { LIMITS } from '../../protocol.ts';
import { ApiError } from '../errors.ts';

/**
 * Input validation at the edge: zod schemas whose first issue becomes our 400 `invalid_request`,
 * with `error.field` naming the top-level field and a message that names it too.
 */

/** U+0000 (PostgreSQL rejects it in text and jsonb) or a lone UTF-16 surrogate (not valid Unicode). */
const BAD_TEXT = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function hasBadText(s: string): boolean {
  return BAD_TEXT.test(s);
}

const badTextMessage = (field: string) => `${field} must not contain NUL characters or invalid Unicode`;

function requiredString(field: string) {
  return z.string({ error: (iss) => (iss.input === undefined ? `${field} is required` : `${field} must be a string`) });
}

function idSchema(field: string) {
  return requiredString(field).regex(LIMITS.idPattern, {
    error: `${field} must be 8 to 255 characters among A-Z, a-z, 0-9, "_" and "-"`,
  });
}

/** Characters as a person counts them (code points), not UTF-16 units. */
const charCount = (s: string) => {
  let n = 0;
  for (const _ of s) n++;
  return n;
};

const byteLength = (s: string) => new TextEncoder().encode(s).length;

function depthOf(value: unknown): number {
  if (value === null || typeof value !== 'object') return 0;
  const children = Array.isArray(value) ? value : Object.values(value);
  let deepest = 0;
  for (const child of children) deepest = Math.max(deepest, depthOf(child));
  return 1 + deepest;
}

/** Walks every key and string value; true when one holds NUL or a lone surrogate. */
function containsBadText(value: unknown): boolean {
  if (typeof value === 'string') return hasBadText(value);
  if (value === null || typeof value !== 'object') return false;
  if (Array.isArray(value)) return value.some(containsBadText);
  return Object.entries(value).some(([k, v]) => hasBadText(k) || containsBadText(v));
}

function metadataProblem(value: unknown): string | null {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'metadata must be a JSON object';
  if (Object.keys(value).length > LIMITS.metadataKeys) return `metadata must have at most ${LIMITS.metadataKeys} keys`;
  if (depthOf(value) > LIMITS.metadataDepth) return `metadata must be nested at most ${LIMITS.metadataDepth} levels deep`;
  if (containsBadText(value)) return badTextMessage('metadata');
  if (byteLength(JSON.stringify(value)) > LIMITS.metadataBytes) {
    return `metadata must be at most ${LIMITS.metadataBytes} bytes as JSON`;
  }
  return null;
}

export interface ChatInput {
  sessionId: string;
  visitorId: string | null;
  message: string;
  metadata: Record<string, unknown>;
}

export function chatBodySchema(limits: { messageChars: number }) {
  return z.object(
    {
      session_id: idSchema('session_id'),
      // null is accepted as "absent" for the optional fields: some clients serialise unset fields that way.
      visitor_id: idSchema('visitor_id').nullish(),
      message: requiredString('message')
        .refine((s) => !hasBadText(s), { error: badTextMessage('message') })
        .refine((s) => s.trim() !== '', { error: 'message must not be empty' })
        .refine((s) => charCount(s) <= limits.messageChars, {
          error: `message must be at most ${limits.messageChars} characters`,
        }),
      metadata: z
        .unknown()
        .superRefine((value, ctx) => {
          if (value === undefined || value === null) return;
          const problem = metadataProblem(value);
          if (problem) ctx.addIssue({ code: 'custom', message: problem });
        })
        .optional(),
    },
    { error: 'the body must be a JSON object' },
  );
}

/** A zod failure as our 400: its first issue's message, the top-level field it names (an unknown field's own name). */
export function toApiError(error: z.ZodError): ApiError {
  const issue = error.issues[0];
  const field = issue?.code === 'unrecognized_keys' ? issue.keys[0] : issue?.path[0];
  return new ApiError('invalid_request', issue?.message ?? 'invalid request', {
    field: typeof field === 'string' ? field : undefined,
  });
}

/** A request body's text as JSON; 400 `invalid_request` when it is not JSON. */
export function parseJsonText(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ApiError('invalid_request', 'the body must be valid JSON');
  }
}

// Building a zod schema costs ~100 µs plus JIT work (zod compiles a fast path per schema object): once per
// limit value, not once per request (it was the top cost of a chat turn in the proxy's CPU profile).
const chatSchemas = new Map<number, ReturnType<typeof chatBodySchema>>();

function cachedChatBodySchema(messageChars: number): ReturnType<typeof chatBodySchema> {
  let schema = chatSchemas.get(messageChars);
  if (!schema) {
    schema = chatBodySchema({ messageChars });
    chatSchemas.set(messageChars, schema);
  }
  return schema;
}

/** Parses the raw body text of `POST /v1/chat`; throws ApiError 400 naming the field. */
export function parseChatBody(text: string, limits: { messageChars: number }): ChatInput {
  const parsed = cachedChatBodySchema(limits.messageChars).safeParse(parseJsonText(text));
  if (!parsed.success) throw toApiError(parsed.error);
  const { session_id, visitor_id, message, metadata } = parsed.data;
  return {
    sessionId: session_id,
    visitorId: visitor_id ?? null,
    message,
    metadata: (metadata ?? {}) as Record<string, unknown>,
  };
}

const sessionIdSchema = idSchema('session_id');

/** `session_id` in a URL path. */
export function parseSessionId(raw: string): string {
  const parsed = sessionIdSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  throw new ApiError('invalid_request', parsed.error.issues[0]?.message ?? 'invalid session_id', { field: 'session_id' });
}

const limitSchema = z
  .string()
  .regex(/^\d{1,4}$/)
  .transform(Number)
  .pipe(z.number().int().min(1).max(LIMITS.historyLimitMax));

/** `?limit=N` of the history endpoint: default 50, 1..200. */
export function parseHistoryLimit(raw: string | undefined): number {
  if (raw === undefined) return 50;
  const parsed = limitSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ApiError('invalid_request', `limit must be an integer from 1 to ${LIMITS.historyLimitMax}`, {
      field: 'limit',
    });
  }
  return parsed.data;
}

export interface FeedbackInputBody {
  sessionId: string;
  rating: 'up' | 'down' | null;
  comment: string | null;
}

// Strict: an unknown field is refused (a misspelt "coment" must not silently lose the comment).
const feedbackSchema = z.strictObject(
  {
    session_id: idSchema('session_id'),
    rating: z.union([z.literal('up'), z.literal('down'), z.null()], {
      error: (iss) => (iss.input === undefined ? 'rating is required ("up", "down" or null)' : 'rating must be "up", "down" or null'),
    }),
    comment: z
      .string({ error: 'comment must be a string' })
      .refine((s) => !hasBadText(s), { error: badTextMessage('comment') })
      .refine((s) => charCount(s) <= LIMITS.feedbackCommentChars, {
        error: `comment must be at most ${LIMITS.feedbackCommentChars} characters`,
      })
      .nullish(),
  },
  {
    error: (iss) =>
      iss.code === 'unrecognized_keys'
        ? `unknown field ${(iss as { keys?: string[] }).keys?.map((k) => `"${k}"`).join(', ')}: the body has session_id, rating and comment`
        : 'the body must be a JSON object',
  },
);

/** Parses the body of `POST /v1/messages/{id}/feedback`; throws ApiError 400 naming the field. */
export function parseFeedbackBody(text: string): FeedbackInputBody {
  const parsed = feedbackSchema.safeParse(parseJsonText(text));
  if (!parsed.success) throw toApiError(parsed.error);
  const comment = parsed.data.comment?.trim() ? parsed.data.comment : null;
  return { sessionId: parsed.data.session_id, rating: parsed.data.rating, comment };
}

/** A uuid as PostgreSQL writes it (either case). */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A message id in a URL path: anything but a uuid cannot name a message (404, as an unknown one). */
export function isMessageId(raw: string): boolean {
  return UUID.test(raw);
}
