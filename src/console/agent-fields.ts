/**
 * The agent form's model, without a DOM: a draft of text values per column, the checks each column's
 * constraint makes in the database (migrations 00001–00004), and the request bodies built from a draft.
 */
import type { Agent, AgentInput } from './api.ts';

export interface Draft {
  name: string;
  role: string;
  instructions: string;
  model: string;
  temperature: string;
  max_tokens: string;
  top_p: string;
  is_active: boolean;
  /** One origin per line. */
  allowed_origins: string;
  rate_limit_session_per_minute: string;
  rate_limit_ip_per_minute: string;
  daily_token_budget: string;
  retention_days: string;
  identity_required: boolean;
  mistral_agent_id: string;
}

export type FieldName = keyof Draft;

/** Form order: the first invalid field in this order gets the focus. */
export const FIELDS: FieldName[] = [
  'name',
  'role',
  'model',
  'instructions',
  'temperature',
  'max_tokens',
  'top_p',
  'mistral_agent_id',
  'is_active',
  'allowed_origins',
  'identity_required',
  'rate_limit_session_per_minute',
  'rate_limit_ip_per_minute',
  'daily_token_budget',
  'retention_days',
];

/** The schema's column defaults (00001), for a new agent. */
export const NEW_AGENT: Draft = {
  name: '',
  role: 'assistant',
  instructions: '',
  model: 'mistral-small-latest',
  temperature: '0.7',
  max_tokens: '1024',
  top_p: '1',
  is_active: true,
  allowed_origins: '',
  rate_limit_session_per_minute: '',
  rate_limit_ip_per_minute: '',
  daily_token_budget: '',
  retention_days: '',
  identity_required: false,
  mistral_agent_id: '',
};

/** Models offered in the model field's suggestions (any model id may be typed). */
export const MODELS = [
  'mistral-small-latest',
  'mistral-medium-latest',
  'mistral-large-latest',
  'ministral-8b-latest',
  'ministral-3b-latest',
  'open-mistral-nemo',
  'magistral-medium-latest',
];

const str = (v: number | string | null | undefined) => (v === null || v === undefined ? '' : String(Number(v)));

export function draftOf(a: Agent): Draft {
  return {
    name: a.name,
    role: a.role,
    instructions: a.instructions ?? '',
    model: a.model,
    temperature: str(a.temperature),
    max_tokens: str(a.max_tokens),
    top_p: str(a.top_p),
    is_active: a.is_active,
    allowed_origins: (a.allowed_origins ?? []).join('\n'),
    rate_limit_session_per_minute: str(a.rate_limit_session_per_minute),
    rate_limit_ip_per_minute: str(a.rate_limit_ip_per_minute),
    daily_token_budget: str(a.daily_token_budget),
    retention_days: str(a.retention_days),
    identity_required: a.identity_required,
    mistral_agent_id: a.mistral_agent_id ?? '',
  };
}

/** A problem with one field: a message key of strings.ts (`v_…`) and its placeholders. */
export interface Problem {
  field: FieldName;
  key: 'v_required' | 'v_too_long' | 'v_fraction' | 'v_decimals' | 'v_integer' | 'v_origin' | 'v_model' | 'v_agent_id' | 'v_nul';
  vars?: Record<string, string | number>;
}

const INT_MAX = 2147483647;
/** What the database accepts in allowed_origins (00003's check): `*`, `null`, `scheme://[*.]host[:port][/]`. */
const ORIGIN = /^(\*|null|[a-z][a-z0-9+.-]*:\/\/(\*\.)?([^\][/:@?#*\s]+|\[[0-9a-f:.]+\])(:[0-9]{1,5})?\/?)$/i;
/** 00004's check on agents.mistral_agent_id. */
const AGENT_ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,254}$/;
/** Model ids: `mistral-small-latest`, `ft:open-mistral-7b:587a6b29:20240514:7e773925`, … */
const MODEL = /^[A-Za-z0-9][A-Za-z0-9_.:/-]*$/;

export const originLines = (text: string) =>
  text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);

export function validate(d: Draft): Problem[] {
  const out: Problem[] = [];
  const text = (field: FieldName, v: string, max: number, required: boolean) => {
    if (required && !v.trim()) out.push({ field, key: 'v_required' });
    else if (v.length > max) out.push({ field, key: 'v_too_long', vars: { max } });
    else if (v.includes('\0')) out.push({ field, key: 'v_nul' });
    else return true;
    return false;
  };
  const fraction = (field: FieldName, v: string) => {
    const t = v.trim();
    if (!t) out.push({ field, key: 'v_required' });
    else if (!/^\d*\.?\d+$|^\d+\.$/.test(t) || Number(t) > 1) out.push({ field, key: 'v_fraction' });
    else if (/\.\d{3,}$/.test(t)) out.push({ field, key: 'v_decimals' });
  };
  const integer = (field: FieldName, v: string, min: number, required: boolean) => {
    const t = v.trim();
    if (!t) {
      if (required) out.push({ field, key: 'v_required' });
    } else if (!/^\d+$/.test(t) || Number(t) < min || Number(t) > INT_MAX)
      out.push({ field, key: 'v_integer', vars: { min, max: INT_MAX } });
  };

  text('name', d.name, 255, true);
  text('role', d.role, 255, true);
  if (text('model', d.model, 100, true) && !MODEL.test(d.model.trim())) out.push({ field: 'model', key: 'v_model' });
  text('instructions', d.instructions, Infinity, false);
  fraction('temperature', d.temperature);
  integer('max_tokens', d.max_tokens, 1, true);
  fraction('top_p', d.top_p);
  const agentId = d.mistral_agent_id.trim();
  if (agentId && !AGENT_ID.test(agentId)) out.push({ field: 'mistral_agent_id', key: 'v_agent_id' });
  const lines = originLines(d.allowed_origins);
  const bad = lines.findIndex((l) => !ORIGIN.test(l));
  if (bad >= 0) out.push({ field: 'allowed_origins', key: 'v_origin', vars: { value: lines[bad]! } });
  integer('rate_limit_session_per_minute', d.rate_limit_session_per_minute, 0, false);
  integer('rate_limit_ip_per_minute', d.rate_limit_ip_per_minute, 0, false);
  integer('daily_token_budget', d.daily_token_budget, 1, false);
  integer('retention_days', d.retention_days, 1, false);
  return out;
}

const orNull = (v: string) => (v.trim() ? Number(v.trim()) : null);

/** Every owner-set column of a valid draft, as the API takes it. */
export function inputOf(d: Draft): Required<AgentInput> {
  const origins = originLines(d.allowed_origins);
  return {
    name: d.name.trim(),
    role: d.role.trim(),
    instructions: d.instructions.trim() ? d.instructions : null,
    model: d.model.trim(),
    temperature: Number(d.temperature),
    max_tokens: Number(d.max_tokens),
    top_p: Number(d.top_p),
    is_active: d.is_active,
    allowed_origins: origins.length ? origins : null,
    rate_limit_session_per_minute: orNull(d.rate_limit_session_per_minute),
    rate_limit_ip_per_minute: orNull(d.rate_limit_ip_per_minute),
    daily_token_budget: orNull(d.daily_token_budget),
    retention_days: orNull(d.retention_days),
    identity_required: d.identity_required,
    mistral_agent_id: d.mistral_agent_id.trim() || null,
  };
}

/** Only the columns a valid draft changes on `agent` (the body of a PATCH); empty when nothing changed. */
export function changes(d: Draft, agent: Agent): AgentInput {
  const next = inputOf(d);
  const now = inputOf(draftOf(agent));
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(next) as (keyof typeof next)[])
    if (JSON.stringify(next[k]) !== JSON.stringify(now[k])) out[k] = next[k];
  return out as AgentInput;
}

/** The form field a server error names (`allowed_origins[2]` or `allowed_origins.2` → `allowed_origins`). */
export function fieldOf(name: string | undefined): FieldName | undefined {
  const base = name?.split(/[.[]/)[0];
  return (FIELDS as string[]).includes(base ?? '') ? (base as FieldName) : undefined;
}
