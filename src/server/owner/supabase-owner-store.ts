/**
 * OwnerStore over supabase-js: a client per request with the project's anon (publishable) key and the
 * owner's own access token as `Authorization`, so PostgREST verifies the token and runs the function as
 * that owner (role authenticated, their claims): the project's row level security decides. Runtime-neutral.
 */
import { createServerClient } from '../store/supabase-client.ts';
import { fieldOfError, OwnerStoreError, type OwnerFunction, type OwnerFunctions, type OwnerStore } from './owner-store.ts';
import type { OwnerIdentity } from './tokens.ts';

export interface SupabaseOwnerStoreOptions {
  url: string;
  /** SUPABASE_ANON_KEY or the publishable key: PostgREST's gateway wants a key; the token says who. */
  anonKey: string;
  fetch?: typeof fetch;
}

export class SupabaseOwnerStore implements OwnerStore {
  readonly kind = 'supabase' as const;

  constructor(private readonly opts: SupabaseOwnerStoreOptions) {}

  async call<F extends OwnerFunction>(owner: OwnerIdentity, fn: F, args: OwnerFunctions[F]): Promise<unknown> {
    const client = createServerClient(this.opts.url, this.opts.anonKey, {
      headers: { Authorization: `Bearer ${owner.token}` },
      ...(this.opts.fetch ? { fetch: this.opts.fetch } : {}),
    });
    const { data, error } = await client.rpc(fn, args);
    if (error) throw new OwnerStoreError(`supabase rpc ${fn} failed: ${error.message}`, error.code, fieldOfError(error), { cause: error });
    return data ?? null;
  }
}
