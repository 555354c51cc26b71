/**
 * Supabase Auth for the console, in its own lazily loaded chunk so that local auth never downloads it.
 * `AuthClient` (GoTrueClient) comes from @supabase/supabase-js, which re-exports @supabase/auth-js and is
 * side-effect free, so the bundle holds Auth alone, not the database, storage or realtime clients.
 */
import { AuthClient, type AuthError } from '@supabase/supabase-js';

/** A failed sign-in in the owner API's terms (session.ts makes it an OwnerApiError; this chunk imports nothing of the console). */
export interface AuthFailure {
  status: number;
  code: string;
  message: string;
}

function failure(e: AuthError): AuthFailure {
  const status = e.status ?? 0;
  // Supabase answers 400 invalid_credentials (older servers: "Invalid login credentials" without a code).
  if (e.code === 'invalid_credentials' || (status === 400 && /invalid login/i.test(e.message)))
    return { status: 401, code: 'invalid_credentials', message: e.message };
  if (status === 429 || e.code === 'over_request_rate_limit') return { status: 429, code: 'rate_limited', message: e.message };
  if (!status || e.name === 'AuthRetryableFetchError') return { status: 0, code: 'network', message: e.message };
  return { status, code: e.code ?? 'error', message: e.message };
}

/** One Auth client per project and page (several would compete for the same stored session). */
const clients = new Map<string, InstanceType<typeof AuthClient>>();

export function createAuthClient(url: string, anonKey: string, onEnded: () => void) {
  const key = `${url}\n${anonKey}`;
  const client = clients.get(key) ?? newClient(url, anonKey);
  clients.set(key, client);
  return handle(client, onEnded);
}

function newClient(url: string, anonKey: string) {
  return new AuthClient({
    url: `${url.replace(/\/+$/, '')}/auth/v1`,
    headers: { apikey: anonKey, Authorization: `Bearer ${anonKey}` },
    storageKey: `mistral-agent-console:supabase:${url}`,
    // The tab's session only, like the local mode's token: closing the tab signs out.
    storage: sessionStorage,
    persistSession: true,
    autoRefreshToken: true,
    detectSessionInUrl: false,
    // Resolved at call time, so a test's fetch double (or a page's instrumentation) is used.
    fetch: (...args: Parameters<typeof fetch>) => fetch(...args),
  });
}

function handle(client: InstanceType<typeof AuthClient>, onEnded: () => void) {
  let signedIn = false;
  const { data } = client.onAuthStateChange((event) => {
    if (event === 'SIGNED_IN') signedIn = true;
    else if (event === 'SIGNED_OUT' && signedIn) {
      signedIn = false;
      onEnded();
    }
  });
  return {
    async signIn(email: string, password: string) {
      const { error } = await client.signInWithPassword({ email, password });
      if (error) throw failure(error);
      signedIn = true;
    },
    /** The library refreshes the session here when it is about to expire. */
    async accessToken(): Promise<string | null> {
      const { data: d, error } = await client.getSession();
      if (error) return null;
      if (d.session) signedIn = true;
      return d.session?.access_token ?? null;
    },
    /** Forgets the session here and revokes it on the server; the session is removed even when that call fails. */
    async signOut() {
      signedIn = false;
      // 'local': this browser's session only (Supabase's default, 'global', would sign the owner out everywhere).
      await client.signOut({ scope: 'local' }).catch(() => undefined);
    },
    /** This element stops listening; the client (shared, page-long) keeps refreshing a live session. */
    dispose() {
      data.subscription.unsubscribe();
    },
  };
}
