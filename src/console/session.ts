/**
 * Who is signed in, and the access token for the owner API. Two kinds, as `GET /v1/owner/config` says:
 * local (email + password → `POST /v1/owner/token`, a one-hour token kept in sessionStorage) and Supabase
 * (supabase-js Auth, loaded only in that mode; it keeps and refreshes its own session in sessionStorage).
 */
import { OwnerApiError, type OwnerApi, type OwnerConfig } from './api.ts';

export interface OwnerSession {
  readonly mode: 'local' | 'supabase';
  /** True when a stored session may still be valid (the caller verifies it with `GET /v1/owner/me`). */
  restore(): Promise<boolean>;
  /** Throws {@link OwnerApiError}: `invalid_credentials`, `rate_limited`, `network`, … */
  signIn(email: string, password: string): Promise<void>;
  /** The current access token; null when signed out or expired. */
  accessToken(): Promise<string | null>;
  /** Ends the session (Supabase: also on the auth server). Never throws. */
  signOut(): Promise<void>;
  /** Stops timers (the element left the page). */
  dispose(): void;
}

interface StoredToken {
  token: string;
  /** Epoch ms. */
  expires_at: number;
}

/** Local auth: the owner API issues the token; nothing refreshes it (it lasts an hour, then sign in again). */
export class LocalSession implements OwnerSession {
  readonly mode = 'local';
  readonly #key: string;

  constructor(
    private readonly api: OwnerApi,
    endpoint: string,
  ) {
    this.#key = `mistral-agent-console:${endpoint}`;
  }

  #read(): StoredToken | null {
    try {
      const v = JSON.parse(sessionStorage.getItem(this.#key) ?? 'null') as StoredToken | null;
      return v && typeof v.token === 'string' && typeof v.expires_at === 'number' ? v : null;
    } catch {
      return null;
    }
  }

  async restore() {
    return (await this.accessToken()) !== null;
  }

  async signIn(email: string, password: string) {
    const t = await this.api.signIn(email, password);
    const stored: StoredToken = { token: t.access_token, expires_at: Date.now() + t.expires_in * 1000 };
    sessionStorage.setItem(this.#key, JSON.stringify(stored));
  }

  async accessToken() {
    const t = this.#read();
    if (t && t.expires_at > Date.now()) return t.token;
    if (t) sessionStorage.removeItem(this.#key);
    return null;
  }

  async signOut() {
    sessionStorage.removeItem(this.#key);
  }

  dispose() {}
}

/** supabase-auth.ts is imported only in Supabase mode (its own chunk). */
type AuthHandle = ReturnType<typeof import('./supabase-auth.ts').createAuthClient>;

/** Supabase Auth: the library signs in, stores and refreshes the session; we only read its access token. */
export class SupabaseSession implements OwnerSession {
  readonly mode = 'supabase';
  #client?: AuthHandle;
  #loading?: Promise<AuthHandle>;

  constructor(
    private readonly url: string,
    private readonly anonKey: string,
    /** Called when the library ends the session by itself (refresh refused, signed out in another tab). */
    private readonly onEnded: () => void,
  ) {}

  #load() {
    return (this.#loading ??= import('./supabase-auth.ts').then(
      (m) => (this.#client = m.createAuthClient(this.url, this.anonKey, this.onEnded)),
      (err: unknown) => {
        this.#loading = undefined;
        throw new OwnerApiError(0, 'network', `could not load Supabase Auth: ${String(err)}`);
      },
    ));
  }

  async restore() {
    return (await this.accessToken()) !== null;
  }

  async signIn(email: string, password: string) {
    const client = await this.#load();
    try {
      await client.signIn(email, password);
    } catch (e) {
      const f = e as { status?: number; code?: string; message?: string };
      throw new OwnerApiError(f.status ?? 0, f.code ?? 'error', f.message ?? String(e));
    }
  }

  async accessToken() {
    const client = await this.#load();
    return client.accessToken();
  }

  async signOut() {
    if (!this.#loading) return;
    const client = await this.#load().catch(() => null);
    await client?.signOut();
  }

  dispose() {
    this.#client?.dispose();
  }
}

export function createSession(config: OwnerConfig, api: OwnerApi, onEnded: () => void): OwnerSession {
  return config.auth === 'supabase'
    ? new SupabaseSession(config.supabase_url, config.supabase_anon_key, onEnded)
    : new LocalSession(api, api.endpoint);
}
