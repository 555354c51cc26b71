/**
 * Proxy configuration, read from a plain env record so Node (process.env) and Deno (Deno.env.toObject())
 * share it. Env names are public API (DESIGN.md).
 */
export interface Config {
  port: number;
  dataDir: string;
  databaseUrl: string | undefined;
  supabaseUrl: string | undefined;
  /** Resolved from SUPABASE_SECRET_KEYS.default, then SUPABASE_SECRET_KEY, then SUPABASE_SERVICE_ROLE_KEY. */
  supabaseKey: string | undefined;
  /** The browser-safe key the owner console's supabase-js Auth uses (SUPABASE_PUBLISHABLE_KEYS.default, then SUPABASE_PUBLISHABLE_KEY, then SUPABASE_ANON_KEY). */
  supabaseAnonKey: string | undefined;
  /** SUPABASE_JWT_SECRET: a project's legacy shared JWT secret, for owner tokens still signed with it (HS256). */
  supabaseJwtSecret: string | undefined;
  /** OWNER_JWT_SECRET: signs local-auth owner tokens; unset = a secret generated once and kept in the database. */
  ownerJwtSecret: string | undefined;
  mistralApiKey: string | undefined;
  mistralBaseUrl: string;
  /**
   * How many proxies of yours stand in front of the server (TRUST_PROXY, as Express's `trust proxy` hop count):
   * 0 = none, the client is the socket's peer; N = the client is the N-th X-Forwarded-For entry from the right.
   */
  trustProxy: number;
  limits: {
    messageChars: number;
    bodyBytes: number;
    historyMessages: number;
    historyChars: number;
  };
  timeouts: {
    /** Request sent → first byte from upstream. */
    firstByteMs: number;
    /** Longest silence between two upstream chunks. */
    idleMs: number;
    /** Whole reply; below Supabase's 150 s wall clock. */
    totalMs: number;
  };
  retries: { max: number; maxDelayMs: number };
  /** Seconds a closing server lets open streams run before aborting them. */
  shutdownGraceMs: number;
  /** The Node server's maintenance timer (migration 00005): interval (0 = off) and rows per task per batch. */
  maintenance: { intervalMs: number; batchSize: number };
}

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  return n;
}

/**
 * TRUST_PROXY: a number of trusted hops. `true`/`yes`/`on` mean one hop (what `TRUST_PROXY=1` always meant:
 * one proxy of yours in front); `false`/`no`/`off`/empty mean none. Anything else stops the start: guessing
 * would either let clients pick their address or lump every client into one bucket.
 */
export function parseTrustProxy(raw: string | undefined): number {
  const v = (raw ?? '').trim().toLowerCase();
  if (v === '' || v === '0' || v === 'false' || v === 'no' || v === 'off') return 0;
  if (v === 'true' || v === 'yes' || v === 'on') return 1;
  if (/^\d{1,2}$/.test(v)) return Number(v);
  throw new Error(
    `TRUST_PROXY must be the number of proxies of yours in front of this server (0 = none; 1 = one, e.g. a load ` +
      `balancer or nginx; 2 = a CDN then a load balancer), got "${raw}". Address lists are not supported.`,
  );
}

/** SUPABASE_SECRET_KEYS is a JSON object of named keys: `{"default":"sb_secret_…"}`. */
export function resolveSupabaseKey(env: Env): string | undefined {
  const keys = env.SUPABASE_SECRET_KEYS;
  if (keys) {
    try {
      const parsed = JSON.parse(keys) as Record<string, unknown>;
      if (typeof parsed.default === 'string' && parsed.default) return parsed.default;
    } catch {
      // fall through to the single-key variables
    }
  }
  return env.SUPABASE_SECRET_KEY || env.SUPABASE_SERVICE_ROLE_KEY || undefined;
}

/** SUPABASE_PUBLISHABLE_KEYS is a JSON object of named keys too: `{"default":"sb_publishable_…"}`. */
export function resolveSupabaseAnonKey(env: Env): string | undefined {
  const keys = env.SUPABASE_PUBLISHABLE_KEYS;
  if (keys) {
    try {
      const parsed = JSON.parse(keys) as Record<string, unknown>;
      if (typeof parsed.default === 'string' && parsed.default) return parsed.default;
    } catch {
      // fall through to the single-key variables
    }
  }
  return env.SUPABASE_PUBLISHABLE_KEY || env.SUPABASE_ANON_KEY || undefined;
}

export function loadConfig(env: Env): Config {
  return {
    port: int(env, 'PORT', 8787),
    dataDir: env.DATA_DIR || './.data',
    databaseUrl: env.DATABASE_URL || env.SUPABASE_DB_URL || undefined,
    supabaseUrl: env.SUPABASE_URL || undefined,
    supabaseKey: resolveSupabaseKey(env),
    supabaseAnonKey: resolveSupabaseAnonKey(env),
    supabaseJwtSecret: env.SUPABASE_JWT_SECRET || undefined,
    ownerJwtSecret: env.OWNER_JWT_SECRET || undefined,
    mistralApiKey: env.MISTRAL_API_KEY || undefined,
    mistralBaseUrl: (env.MISTRAL_BASE_URL || 'https://api.mistral.ai').replace(/\/+$/, '').replace(/\/v1$/, ''),
    trustProxy: parseTrustProxy(env.TRUST_PROXY),
    limits: {
      messageChars: int(env, 'MAX_MESSAGE_CHARS', 4000),
      bodyBytes: int(env, 'MAX_BODY_BYTES', 32 * 1024),
      historyMessages: int(env, 'HISTORY_MESSAGES', 20),
      historyChars: int(env, 'HISTORY_CHARS', 24000),
    },
    timeouts: {
      firstByteMs: int(env, 'UPSTREAM_FIRST_BYTE_MS', 30_000),
      idleMs: int(env, 'UPSTREAM_IDLE_MS', 30_000),
      totalMs: int(env, 'UPSTREAM_TOTAL_MS', 120_000),
    },
    retries: { max: int(env, 'UPSTREAM_RETRIES', 2), maxDelayMs: int(env, 'UPSTREAM_RETRY_MAX_MS', 8_000) },
    shutdownGraceMs: int(env, 'SHUTDOWN_GRACE_MS', 5_000),
    maintenance: {
      intervalMs: int(env, 'MAINTENANCE_INTERVAL_MS', 5 * 60_000),
      batchSize: Math.max(1, int(env, 'MAINTENANCE_BATCH_SIZE', 5_000)),
    },
  };
}
