/**
 * Explicit Stop across instances: `POST /v1/sessions/{id}/stop` marks the reply in the database
 * (inflight_replies.stop_requested_at), whichever instance receives it; the instance streaming the reply
 * finds out here. One batched query for all of this instance's streams every `intervalMs`, and only while
 * at least one stream is open: an idle instance costs the database nothing.
 */
export class StopWatcher {
  readonly #poll: (conversationIds: string[]) => Promise<string[]>;
  readonly #intervalMs: number;
  readonly #onError: (err: unknown) => void;
  readonly #watched = new Map<string, () => void>();
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(poll: (conversationIds: string[]) => Promise<string[]>, opts: { intervalMs?: number; onError?: (err: unknown) => void } = {}) {
    this.#poll = poll;
    this.#intervalMs = opts.intervalMs ?? 300;
    this.#onError = opts.onError ?? (() => {});
  }

  /** Calls `onStop` (once) when a Stop is requested for this conversation's reply; returns the unwatch call. */
  watch(conversationId: string, onStop: () => void): () => void {
    this.#watched.set(conversationId, onStop);
    this.#schedule();
    return () => {
      if (this.#watched.get(conversationId) === onStop) this.#watched.delete(conversationId);
    };
  }

  get watching(): number {
    return this.#watched.size;
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#watched.size === 0) return;
    this.#timer = setTimeout(() => void this.#tick(), this.#intervalMs);
  }

  async #tick(): Promise<void> {
    try {
      const ids = [...this.#watched.keys()];
      if (ids.length > 0) {
        for (const id of await this.#poll(ids)) {
          const onStop = this.#watched.get(id);
          this.#watched.delete(id);
          onStop?.();
        }
      }
    } catch (err) {
      // The database is unreachable for a moment: the reply goes on; the next tick asks again.
      this.#onError(err);
    } finally {
      this.#timer = undefined;
      this.#schedule();
    }
  }
}
