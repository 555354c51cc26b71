import type { AgentPublic, Store } from '../store/store.ts';

/**
 * A small per-key cache of `store.agentByKey` (LRU by insertion order of a Map, with a TTL), so a chat turn is
 * one database round trip (`beginTurn`) in the steady state. Safe because `beginTurn` re-verifies the key and
 * `is_active` itself; the cache only serves the origin check, `GET /v1/agent` and history for a few seconds.
 * Unknown keys are cached too (as null) so a burst of bad keys does not hammer the database.
 * Concurrent lookups for the same key share one query.
 */
export class AgentCache {
  readonly #store: Pick<Store, 'agentByKey'>;
  readonly #ttlMs: number;
  readonly #max: number;
  readonly #now: () => number;
  readonly #entries = new Map<string, { expires: number; value: Promise<AgentPublic | null>; agentId?: string }>();

  constructor(store: Pick<Store, 'agentByKey'>, opts: { ttlMs?: number; max?: number; now?: () => number } = {}) {
    this.#store = store;
    this.#ttlMs = opts.ttlMs ?? 5_000;
    this.#max = opts.max ?? 1_000;
    this.#now = opts.now ?? (() => Date.now());
  }

  get(apiKey: string): Promise<AgentPublic | null> {
    const now = this.#now();
    const hit = this.#entries.get(apiKey);
    if (hit && hit.expires > now) {
      // Refresh recency: re-insert at the end of the Map's order.
      this.#entries.delete(apiKey);
      this.#entries.set(apiKey, hit);
      return hit.value;
    }
    const value = this.#store.agentByKey(apiKey);
    const entry: { expires: number; value: Promise<AgentPublic | null>; agentId?: string } = { expires: now + this.#ttlMs, value };
    this.#entries.delete(apiKey);
    this.#entries.set(apiKey, entry);
    value.then((agent) => (entry.agentId = agent?.id), () => {});
    // A failed lookup (database down) must not be remembered.
    value.catch(() => {
      if (this.#entries.get(apiKey)?.value === value) this.#entries.delete(apiKey);
    });
    while (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
    return value;
  }

  /**
   * Forget every key of this agent (the owner API rotated its key, changed or deleted it): this instance
   * refuses an old key at once; other instances within the TTL. Settled lookups only: one in flight was
   * started before the change was asked for, and expires with the TTL.
   */
  invalidateAgent(agentId: string): void {
    for (const [key, entry] of this.#entries) {
      if (entry.agentId === agentId) this.#entries.delete(key);
    }
  }

  /** Forget a key, e.g. when `beginTurn` says it is no longer valid or active. */
  invalidate(apiKey: string): void {
    this.#entries.delete(apiKey);
  }

  get size(): number {
    return this.#entries.size;
  }
}
