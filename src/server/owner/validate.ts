/**
 * Owner API input checks (zod): the same bounds as the database's CHECK constraints (00001–00004) and the
 * CLI (cli/args.ts), so a bad value is refused before SQL with 400 `invalid_request` naming the field.
 * Unknown fields are refused (a typo must not silently do nothing); `user_id`, `id`, `api_key`,
 * `identity_secret` and the timestamps are not settable, so they are unknown fields here.
 */
import { z } from 'zod';
import { ApiError } from '../errors.ts';
import { isValidOriginEntry } from '../http/origin.ts';
import { hasBadText, toApiError, UUID } from '../http/validate.ts';

const INT_MAX = 2_147_483_647;
/** 00004's check on agents.mistral_agent_id. */
const MISTRAL_AGENT_ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,254}$/;

const typed = (field: string, type: string) => ({
  error: (iss: { input?: unknown; code?: string }) =>
    iss.code === 'invalid_type' ? (iss.input === undefined ? `${field} is required` : `${field} must be ${type}`) : undefined,
});

function text(field: string, max: number, required: boolean) {
  let s = z.string(typed(field, 'a string')).refine((v) => !hasBadText(v), { error: `${field} must not contain NUL characters or invalid Unicode` });
  if (required) s = s.refine((v) => v.trim() !== '', { error: `${field} must not be empty` });
  return s.refine((v) => [...v].length <= max, { error: `${field} must be at most ${max} characters` });
}

/** decimal(3,2) between 0 and 1 (agents_temperature_check, agents_top_p_check). */
const fraction = (field: string) =>
  z
    .number(typed(field, 'a number'))
    .min(0, { error: `${field} must be between 0 and 1` })
    .max(1, { error: `${field} must be between 0 and 1` })
    .refine((v) => Math.abs(v * 100 - Math.round(v * 100)) < 1e-9, { error: `${field} must have at most 2 decimals` });

const integer = (field: string, min: number) =>
  z
    .number(typed(field, 'a whole number'))
    .int({ error: `${field} must be a whole number` })
    .min(min, { error: `${field} must be a whole number from ${min} to ${INT_MAX}` })
    .max(INT_MAX, { error: `${field} must be a whole number from ${min} to ${INT_MAX}` });

const boolean = (field: string) => z.boolean(typed(field, 'true or false'));

const FIELDS = {
  name: text('name', 255, true),
  role: text('role', 255, true),
  instructions: text('instructions', 100_000, false).nullable(),
  model: text('model', 100, true).refine((v) => /^[A-Za-z0-9][A-Za-z0-9_.:/-]*$/.test(v), {
    error: 'model must be a model id like mistral-small-latest',
  }),
  temperature: fraction('temperature').nullable(),
  max_tokens: integer('max_tokens', 1).nullable(),
  top_p: fraction('top_p').nullable(),
  is_active: boolean('is_active'),
  allowed_origins: z
    .array(z.string(typed('allowed_origins', 'a list of origins')), typed('allowed_origins', 'a list of origins or null'))
    .max(100, { error: 'allowed_origins must have at most 100 entries' })
    .superRefine((list, ctx) => {
      const bad = list.findIndex((o) => !isValidOriginEntry(o));
      if (bad >= 0) {
        ctx.addIssue({ code: 'custom', message: `allowed_origins: "${list[bad]}" is not an origin like https://shop.example.com, https://*.example.com or *` });
      }
    })
    .nullable(),
  rate_limit_session_per_minute: integer('rate_limit_session_per_minute', 0).nullable(),
  rate_limit_ip_per_minute: integer('rate_limit_ip_per_minute', 0).nullable(),
  daily_token_budget: integer('daily_token_budget', 1).nullable(),
  mistral_agent_id: z
    .string(typed('mistral_agent_id', 'a string'))
    .regex(MISTRAL_AGENT_ID, { error: 'mistral_agent_id must be a Mistral agent id (letters, digits, "_.:-", at most 255)' })
    .nullable(),
  identity_required: boolean('identity_required'),
  retention_days: integer('retention_days', 1).nullable(),
};

export type AgentInput = Partial<{ [K in keyof typeof FIELDS]: z.infer<(typeof FIELDS)[K]> }>;

const updateSchema = z.strictObject(
  Object.fromEntries(Object.entries(FIELDS).map(([k, s]) => [k, s.optional()])) as { [K in keyof typeof FIELDS]: z.ZodOptional<(typeof FIELDS)[K]> },
  { error: (iss) => (iss.code === 'unrecognized_keys' ? `${iss.keys[0]} is not a field an owner may set` : 'the body must be a JSON object') },
);
const createSchema = updateSchema.extend({ name: FIELDS.name });

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw toApiError(parsed.error);
  return parsed.data;
}

/** The body of `POST /v1/owner/agents`. */
export const parseCreateAgent = (body: unknown): AgentInput & { name: string } => parse(createSchema, body) as AgentInput & { name: string };
/** The body of `PATCH /v1/owner/agents/{id}`. */
export const parseUpdateAgent = (body: unknown): AgentInput => parse(updateSchema, body) as AgentInput;

const tokenSchema = z.strictObject(
  {
    email: z.string(typed('email', 'a string')).min(3, { error: 'email must be an email address' }).max(255, { error: 'email must be at most 255 characters' }),
    password: z.string(typed('password', 'a string')).min(1, { error: 'password must not be empty' }).max(1024, { error: 'password must be at most 1024 characters' }),
  },
  { error: (iss) => (iss.code === 'unrecognized_keys' ? `${iss.keys[0]} is not a field of a sign-in` : 'the body must be a JSON object') },
);

/** The body of `POST /v1/owner/token`. */
export const parseSignIn = (body: unknown) => parse(tokenSchema, body);

/** A uuid in a path; anything else is an id nobody has: 404 `not_found`, as another owner's id. */
export function parseId(raw: string, what: string): string {
  if (!UUID.test(raw)) throw new ApiError('not_found', `No ${what} with id ${raw.slice(0, 64)}.`);
  return raw.toLowerCase();
}

const limitSchema = z.string().regex(/^\d{1,3}$/).transform(Number).pipe(z.number().int().min(1).max(100));
const daysSchema = z.string().regex(/^\d{1,3}$/).transform(Number).pipe(z.number().int().min(1).max(366));

/** `?limit` of the inbox: 1..100, default 20. */
export function parseInboxLimit(raw: string | undefined): number {
  if (raw === undefined || raw === '') return 20;
  const parsed = limitSchema.safeParse(raw);
  if (!parsed.success) throw new ApiError('invalid_request', 'limit must be a whole number from 1 to 100', { field: 'limit' });
  return parsed.data;
}

/** `?days` of the daily series: 1..366, default 30. */
export function parseDays(raw: string | undefined): number {
  if (raw === undefined || raw === '') return 30;
  const parsed = daysSchema.safeParse(raw);
  if (!parsed.success) throw new ApiError('invalid_request', 'days must be a whole number from 1 to 366', { field: 'days' });
  return parsed.data;
}

/** `?q`: at most 200 characters (the SQL function's bound), no NUL. */
export function parseQuery(raw: string | undefined): string | null {
  if (raw === undefined || raw.trim() === '') return null;
  if ([...raw].length > 200) throw new ApiError('invalid_request', 'q must be at most 200 characters', { field: 'q' });
  if (hasBadText(raw)) throw new ApiError('invalid_request', 'q must not contain NUL characters or invalid Unicode', { field: 'q' });
  return raw;
}

/** `?before`: the `next` of a previous page. */
export function parseBefore(raw: string | undefined): string | null {
  if (raw === undefined || raw === '') return null;
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(raw)) {
    throw new ApiError('invalid_request', 'before must be the next value of a previous page', { field: 'before' });
  }
  return raw;
}
