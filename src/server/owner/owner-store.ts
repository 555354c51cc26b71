/**
 * The owner API's data access: one interface, two adapters, the SAME SQL functions (migrations 00006 and
 * 00008) run as the owner in both, so row level security decides what an owner sees and changes:
 * - SqlOwnerStore (pg, PGlite): one transaction with `set local role authenticated` + `request.jwt.claims`;
 * - SupabaseOwnerStore: supabase-js `.rpc()` with the owner's own access token, so PostgREST runs it as them.
 */
import type { OwnerIdentity } from './tokens.ts';

/** The functions an owner may call, with their named parameters. */
export interface OwnerFunctions {
  owner_agents: Record<string, never>;
  owner_agent: { p_agent_id: string };
  owner_create_agent: { p_fields: Record<string, unknown>; p_api_key: string };
  owner_update_agent: { p_agent_id: string; p_fields: Record<string, unknown> };
  owner_delete_agent: { p_agent_id: string };
  owner_rotate_agent_key: { p_agent_id: string; p_api_key: string };
  owner_new_identity_secret: { p_agent_id: string; p_secret: string };
  owner_agent_conversations: { p_agent_id: string; p_limit: number; p_before: string | null; p_q: string | null };
  owner_conversation: { p_conversation_id: string };
  owner_delete_conversation: { p_conversation_id: string };
  owner_statistics: Record<string, never>;
  owner_agent_daily: { p_agent_id: string; p_days: number };
}
export type OwnerFunction = keyof OwnerFunctions;

export interface OwnerStore {
  readonly kind: 'sql' | 'supabase';
  /** Runs one owner function as `owner` and returns its JSON result (null: nothing the owner may see). */
  call<F extends OwnerFunction>(owner: OwnerIdentity, fn: F, args: OwnerFunctions[F]): Promise<unknown>;
}

/**
 * A refusal by the database, with its SQLSTATE: 22xxx / 23xxx are the caller's bad input (the API's 400,
 * `field` from the error's hint or constraint), anything else is ours (500 / 503).
 */
export class OwnerStoreError extends Error {
  constructor(
    message: string,
    readonly sqlState: string | undefined,
    readonly field: string | undefined,
    opts: { cause?: unknown } = {},
  ) {
    super(message, opts);
    this.name = 'OwnerStoreError';
  }

  /** True for bad input the database refused (data exceptions, integrity constraints). */
  get isBadInput(): boolean {
    return /^2[23]/.test(this.sqlState ?? '');
  }
}

/** The agent column a check constraint guards: `agents_temperature_check` → `temperature`. */
export function fieldOfConstraint(constraint: string | undefined): string | undefined {
  const m = /^agents_(.+)_check$/.exec(constraint ?? '');
  return m?.[1];
}

/** The field a database error names: its hint (our functions put it there), else its constraint. */
export function fieldOfError(err: { hint?: string | null; constraint?: string; message?: string }): string | undefined {
  if (err.hint && /^[a-z_]+$/.test(err.hint)) return err.hint;
  const fromConstraint = fieldOfConstraint(err.constraint);
  if (fromConstraint) return fromConstraint;
  // PostgREST passes no constraint name: read it from the message
  return fieldOfConstraint(/check constraint "([^"]+)"/.exec(err.message ?? '')?.[1]);
}
