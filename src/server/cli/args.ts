/** Command-line parsing and validation: every mistake becomes a UsageError naming the flag (exit 2). */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { isAgentRef, type AgentFields } from '../data/agents.ts';
import { isValidOriginEntry } from '../http/origin.ts';
import { didYouMean } from './suggest.ts';

export class UsageError extends Error {
  /** The command whose --help the message points to ("agent create"), or '' for the top level. */
  readonly command: string;
  constructor(message: string, command = '') {
    super(message);
    this.name = 'UsageError';
    this.command = command;
  }
}

type Options = NonNullable<ParseArgsConfig['options']>;

export const COMMON: Options = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

/** Flags of `agent create` and `agent update`. */
export const AGENT_FLAGS: Options = {
  name: { type: 'string' },
  instructions: { type: 'string' },
  model: { type: 'string' },
  temperature: { type: 'string' },
  'max-tokens': { type: 'string' },
  'top-p': { type: 'string' },
  role: { type: 'string' },
  owner: { type: 'string' },
  'allowed-origins': { type: 'string' },
  'session-rate-limit': { type: 'string' },
  'ip-rate-limit': { type: 'string' },
  'daily-token-budget': { type: 'string' },
  'identity-required': { type: 'string' },
};

/** Flags of `agent update` only: a new identity secret (printed once), or none. */
export const IDENTITY_SECRET_FLAGS: Options = {
  'identity-secret': { type: 'boolean' },
  'no-identity-secret': { type: 'boolean' },
};

export interface Parsed {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

const flag = (name: string) => (name.length === 1 ? `-${name}` : `--${name}`);

/**
 * node:util parseArgs in strict mode, after our own pass over its tokens so every mistake reads plainly:
 * an unknown flag names the closest known one, a missing or unexpected value says which flag.
 */
export function parse(command: string, args: string[], options: Options): Parsed {
  const all: Options = { ...COMMON, ...options };
  const longNames = Object.keys(all);
  const shorts = new Map(Object.entries(all).flatMap(([name, o]) => (o.short ? [[o.short, name] as const] : [])));
  const { tokens } = parseArgs({ args, options: all, allowPositionals: true, strict: false, tokens: true });
  for (const t of tokens) {
    if (t.kind !== 'option') continue;
    const name = t.rawName.startsWith('--') ? t.name : (shorts.get(t.name) ?? (all[t.name] ? t.name : undefined));
    if (name === undefined || !all[name]) {
      throw new UsageError(`unknown option ${t.rawName}${didYouMean(t.name, longNames, (n) => `--${n}`)}`, command);
    }
    if (all[name]!.type === 'boolean' && t.inlineValue) throw new UsageError(`${flag(name)} takes no value`, command);
    if (all[name]!.type === 'string' && (t.value === undefined || (!t.inlineValue && t.value.startsWith('-') && t.value.length > 1))) {
      throw new UsageError(`${flag(name)} needs a value (to give one starting with a dash, write ${flag(name)}=-…)`, command);
    }
  }
  try {
    const { values, positionals } = parseArgs({ args, options: all, allowPositionals: true, strict: true });
    return { values: values as Parsed['values'], positionals };
  } catch (err) {
    const code = (err as { code?: string }).code ?? '';
    // Anything the pass above did not foresee: Node's own words, on one line.
    if (code.startsWith('ERR_PARSE_ARGS')) throw new UsageError((err as Error).message.split('\n')[0]!, command);
    throw err;
  }
}

function str(values: Parsed['values'], flag: string): string | undefined {
  const v = values[flag];
  return typeof v === 'string' ? v : undefined;
}

function text(values: Parsed['values'], flag: string, command: string, maxLength: number): string | undefined {
  const v = str(values, flag);
  if (v === undefined) return undefined;
  if (v.trim() === '') throw new UsageError(`--${flag} must not be empty`, command);
  if (v.length > maxLength) throw new UsageError(`--${flag} must be at most ${maxLength} characters`, command);
  if (v.includes('\u0000')) throw new UsageError(`--${flag} must not contain a NUL character`, command);
  return v;
}

// Same bounds as the CHECK constraints of supabase/migrations/00002: 0 ≤ temperature, top_p ≤ 1; max_tokens > 0.
function unit(values: Parsed['values'], flag: string, command: string): number | undefined {
  const v = str(values, flag);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) {
    throw new UsageError(`--${flag} must be a number between 0 and 1, got "${v}"`, command);
  }
  return n;
}

export function positiveInt(values: Parsed['values'], flag: string, command: string): number | undefined {
  const v = str(values, flag);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n <= 0 || n > 2_147_483_647) {
    throw new UsageError(`--${flag} must be a whole number greater than 0, got "${v}"`, command);
  }
  return n;
}

/** `default` (back to the built-in default, SQL null) or a whole number ≥ min. */
function limit(values: Parsed['values'], flag: string, command: string, min: number): number | null | undefined {
  const v = str(values, flag);
  if (v === undefined) return undefined;
  if (v.trim() === 'default') return null;
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < min || n > 2_147_483_647) {
    throw new UsageError(`--${flag} must be a whole number ≥ ${min} or "default", got "${v}"`, command);
  }
  return n;
}

/** Comma- or space-separated origins; an empty value means any origin (SQL null). */
function origins(values: Parsed['values'], command: string): string[] | null | undefined {
  const v = str(values, 'allowed-origins');
  if (v === undefined) return undefined;
  const list = v.split(/[\s,]+/).filter(Boolean);
  if (list.length === 0) return null;
  const bad = list.find((o) => !isValidOriginEntry(o));
  if (bad !== undefined) {
    throw new UsageError(`--allowed-origins: "${bad}" is not an origin like https://shop.example.com, https://*.example.com or *`, command);
  }
  return list;
}

const EMAIL = /^[^\s@]+@[^\s@]+$/;

/** The agent settings given on the command line, validated; absent flags stay undefined. */
export function agentFields(values: Parsed['values'], command: string): { fields: AgentFields; owner: string | undefined } {
  const fields: AgentFields = {};
  const name = text(values, 'name', command, 255);
  const role = text(values, 'role', command, 255);
  const model = text(values, 'model', command, 100);
  const instructions = str(values, 'instructions');
  if (instructions?.includes('\u0000')) throw new UsageError('--instructions must not contain a NUL character', command);
  const temperature = unit(values, 'temperature', command);
  const topP = unit(values, 'top-p', command);
  const maxTokens = positiveInt(values, 'max-tokens', command);
  if (name !== undefined) fields.name = name;
  if (role !== undefined) fields.role = role;
  if (model !== undefined) fields.model = model;
  if (instructions !== undefined) fields.instructions = instructions;
  if (temperature !== undefined) fields.temperature = temperature;
  if (topP !== undefined) fields.top_p = topP;
  if (maxTokens !== undefined) fields.max_tokens = maxTokens;
  const allowed = origins(values, command);
  const perSession = limit(values, 'session-rate-limit', command, 0);
  const perIp = limit(values, 'ip-rate-limit', command, 0);
  const budget = limit(values, 'daily-token-budget', command, 1);
  if (allowed !== undefined) fields.allowed_origins = allowed;
  if (perSession !== undefined) fields.rate_limit_session_per_minute = perSession;
  if (perIp !== undefined) fields.rate_limit_ip_per_minute = perIp;
  if (budget !== undefined) fields.daily_token_budget = budget;
  const required = str(values, 'identity-required');
  if (required !== undefined) {
    if (required !== 'true' && required !== 'false') throw new UsageError(`--identity-required must be true or false, got "${required}"`, command);
    fields.identity_required = required === 'true';
  }
  const owner = str(values, 'owner');
  if (owner !== undefined && !EMAIL.test(owner)) throw new UsageError(`--owner must be an email address, got "${owner}"`, command);
  return { fields, owner };
}

/** The single `<id|key>` positional of an agent command. */
export function agentRef(positionals: string[], command: string): string {
  const [ref, ...extra] = positionals;
  if (ref === undefined) throw new UsageError('missing the agent: give its id (uuid) or its key (mac_…)', command);
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`, command);
  if (!isAgentRef(ref)) throw new UsageError(`"${ref}" is neither an agent id (uuid) nor a key (mac_…)`, command);
  return ref;
}

export function noPositionals(positionals: string[], command: string): void {
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`, command);
}
