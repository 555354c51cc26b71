import type { AgentPublic } from '../store/store.ts';

/** Per-request values the proxy's middleware share through `c.get()` / `c.set()`. */
export interface AppEnv {
  Variables: {
    /** Generated per request; echoed in `X-Request-Id` and in every error body and log line. */
    requestId: string;
    /** performance.now() when the request reached the app: `response_time_ms` counts from here. */
    receivedAt: number;
    /** Set by `requireAgent` on `/v1/*` routes. */
    agent: AgentPublic;
    apiKey: string;
    /** Set by `identify`: the verified visitor token's `sub`, or null (anonymous). */
    userRef: string | null;
    /** Set when the answer is `origin_not_allowed`: the response must not carry a CORS grant. */
    originDenied: boolean;
  };
}
