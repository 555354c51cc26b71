/**
 * OwnerStore over supabase-js: a client per request with the project's anon (publishable) key and the
 * owner's own access token as `Authorization`, so PostgREST verifies the token and runs the function as
 * that owner (role authenticated, their claims): the project's row level security decides. Runtime-neutral.
 */
import { createClient, type SupabaseClientOptions } from '@supabase/supabase-js';
import { fieldOfError, OwnerStoreError, type OwnerFunction, type OwnerFunctions, type OwnerStore } from './owner-store.ts';
import type { OwnerIdentity } from './tokens.ts';

export interface SupabaseOwnerStoreOptions {
  url: string;
  /** SUPABASE_ANON_KEY or the publishable key: PostgREST's gateway wants a key; the token says who. */
  anonKey: string;
  fetch?: typeof fetch;
}

// As in SupabaseStore: supabase-js builds a Realtime client eagerly; we never open a channel.
class NoRealtime {
  constructor() {
    throw new Error('mistral-agent-chat does not use Supabase Realtime');
  }
}
type RealtimeTransport = NonNullable<NonNullable<SupabaseClientOptions<'public'>['realtime']>['transport']>;

export class SupabaseOwnerStore implements OwnerStore {
  readonly kind = 'supabase' as const;

  constructor(private readonly opts: SupabaseOwnerStoreOptions) {}

  async call<F extends OwnerFunction>(owner: OwnerIdentity, fn: F, args: OwnerFunctions[F]): Promise<unknown> {
    const client = createClient(this.opts.url, this.opts.anonKey, {
      auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
      realtime: { transport: NoRealtime as unknown as RealtimeTransport },
      global: {
        headers: { Authorization: `Bearer ${owner.token}` },
        ...(this.opts.fetch ? { fetch: this.opts.fetch } : {}),
      },
    });
    const { data, error } = await client.rpc(fn, args);
    if (error) throw new OwnerStoreError(`supabase rpc ${fn} failed: ${error.message}`, error.code, fieldOfError(error), { cause: error });
    return data ?? null;
  }
}
