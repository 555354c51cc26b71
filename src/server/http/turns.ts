/**
 * The chat turns in flight, so a closing server can refuse new chats, let open streams finish for a grace
 * period, then abort the rest (their partial replies are still stored) and wait for those writes.
 * A visitor leaving does not abort a turn (the reply is finished and stored); an explicit Stop does.
 */
export type AbortReason = 'stop' | 'shutdown';

export class Turn {
  readonly #controller = new AbortController();
  readonly #registry: TurnRegistry;
  #reason: AbortReason | null = null;
  #finished = false;
  #resolveDone!: () => void;
  /** Settles when the turn is over, its last database write included. */
  readonly done = new Promise<void>((resolve) => (this.#resolveDone = resolve));

  constructor(registry: TurnRegistry) {
    this.#registry = registry;
  }

  /** Aborts the upstream call (and whatever else listens). */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Why the turn was aborted, or null. The first reason wins. */
  get abortReason(): AbortReason | null {
    return this.#reason;
  }

  abort(reason: AbortReason): void {
    if (this.#reason !== null || this.#finished) return;
    this.#reason = reason;
    this.#controller.abort(reason);
  }

  finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#registry.remove(this);
    this.#resolveDone();
  }
}

export class TurnRegistry {
  readonly #turns = new Set<Turn>();
  #closing = false;

  get closing(): boolean {
    return this.#closing;
  }

  get active(): number {
    return this.#turns.size;
  }

  open(): Turn {
    const turn = new Turn(this);
    this.#turns.add(turn);
    return turn;
  }

  remove(turn: Turn): void {
    this.#turns.delete(turn);
  }

  async shutdown(graceMs: number): Promise<void> {
    this.#closing = true;
    const allDone = () => Promise.all([...this.#turns].map((t) => t.done));
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([allDone(), new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
    for (const turn of this.#turns) turn.abort('shutdown');
    await allDone();
  }
}
