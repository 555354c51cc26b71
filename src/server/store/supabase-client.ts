/**
 * The supabase-js client as a server uses it: no user session to keep or refresh, and no Realtime.
 * Runtime-neutral (fetch only). The proxy's Store (a secret key) and the owner API's store (the anon key plus
 * the owner's own token) both make theirs here.
 */
import { createClient, type SupabaseClient, type SupabaseClientOptions } from '@supabase/supabase-js';

// supabase-js builds a Realtime client eagerly and, on Node 20 (no global WebSocket), throws while doing
// so unless a transport is given. We never open a channel: hand it one that refuses to connect.
class NoRealtime {
  constructor() {
    throw new Error('mistral-agent-chat does not use Supabase Realtime');
  }
}
type RealtimeTransport = NonNullable<NonNullable<SupabaseClientOptions<'public'>['realtime']>['transport']>;

export interface ServerClientOptions {
  /** Sent with every request (e.g. `Authorization: Bearer <the owner's token>`). */
  headers?: Record<string, string>;
  /** Replaces global fetch (tests, instrumentation). */
  fetch?: typeof fetch;
}

export function createServerClient(url: string, key: string, opts: ServerClientOptions = {}): SupabaseClient {
  const global = {
    ...(opts.headers ? { headers: opts.headers } : {}),
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
  };
  return createClient(url, key, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    realtime: { transport: NoRealtime as unknown as RealtimeTransport },
    ...(opts.headers || opts.fetch ? { global } : {}),
  });
}
