/**
 * Keeps the server up when the database is not: the app gets a Store and an Upstream that delegate to the
 * runtime once it exists, and answer 503 `unavailable` (and a failing /healthz) until then. The runtime
 * (connect, migrate, in demo mode seed the demo agent, start the maintenance timer) is retried in the
 * background with capped exponential backoff.
 */
import { ensureDemoAgent, firstActiveAgent } from '../data/demo.ts';
import { runMaintenance } from '../data/maintenance.ts';
import { anyOwnerCanSignIn, giveDemoOwnerPassword } from '../data/owners.ts';
import { ApiError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { createRuntime, storageMode, type Runtime } from '../runtime.ts';
import type { Store } from '../store/store.ts';
import type { Upstream } from '../upstream/upstream.ts';
import { MaintenanceTimer } from './maintenance-timer.ts';
import { nodeUpstreamTransport } from './upstream-transport.ts';

type Env = Record<string, string | undefined>;

/** A stream that fails on its first step, as a generator that throws would. */
async function* failing(err: unknown): AsyncGenerator<never, never, void> {
  throw err;
}

const notReady = () => new ApiError('unavailable', 'The service is starting and its database is not reachable yet. Please try again shortly.');

/** One line for the log; AggregateError (every address of a host refused) has an empty message. */
function describe(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return describe(err.errors[0]);
  return err instanceof Error ? err.message || err.name : String(err);
}

export interface SupervisorOptions {
  env: Env;
  log: Logger;
  /**
   * Demo mode: the offline demo model without MISTRAL_API_KEY, and a demo agent on an empty database.
   * Off (production): nothing is created, and without MISTRAL_API_KEY there is no model (chats answer 503).
   */
  demo: boolean;
  /** First retry delay; doubles up to maxDelayMs. */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** How long start() waits for the first attempt before the server listens anyway (default 20 s). */
  startWaitMs?: number;
}

export class RuntimeSupervisor {
  runtime: Runtime | null = null;
  /** The key the demo pages embed (demo agent or first active agent), once known. */
  demoKey: string | null = null;
  /** Set when this start created the demo agent. */
  createdDemoAgent = false;
  /**
   * Demo mode, first attempt only: the console password this start gave the demo owner because no owner had
   * one (the start summary prints it once). Null otherwise.
   */
  demoOwner: { email: string; password: string } | null = null;
  /** Whether some owner can sign in to /console locally (null: unknown, or no local accounts on this storage). */
  ownerSignIn: boolean | null = null;
  lastError: string | null = null;
  readonly store: Store;
  readonly upstream: Upstream;

  readonly #env: Env;
  readonly #log: Logger;
  readonly #initialDelay: number;
  readonly #maxDelay: number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;
  #attempt: Promise<boolean> | undefined;
  readonly #startWaitMs: number;
  readonly #demo: boolean;
  #maintenance: MaintenanceTimer | undefined;
  /** Mistral over keep-alive node:http (not fetch): less CPU per streamed reply. Shared by every runtime attempt. */
  readonly #transport = nodeUpstreamTransport();

  constructor(opts: SupervisorOptions) {
    this.#demo = opts.demo;
    this.#env = opts.env;
    this.#log = opts.log;
    this.#initialDelay = opts.initialDelayMs ?? 250;
    this.#maxDelay = opts.maxDelayMs ?? 5_000;
    this.#startWaitMs = opts.startWaitMs ?? 20_000;
    this.store = this.#delegatingStore(storageMode(opts.env));
    this.upstream = this.#delegatingUpstream(opts.env.MISTRAL_API_KEY ? 'mistral' : 'offline-demo');
  }

  /**
   * One attempt now; on failure, keeps retrying in the background. Resolves to whether it is ready, after
   * at most `waitMs`: a connection that hangs (a firewalled host) must not keep the server from listening.
   */
  async start(waitMs = this.#startWaitMs): Promise<boolean> {
    const first = this.#tryOnce(false, true).then((ok) => {
      if (!ok) this.#schedule(this.#initialDelay, 1);
      return ok;
    });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const waited = new Promise<'pending'>((resolve) => (timer = setTimeout(() => resolve('pending'), waitMs)));
    const result = await Promise.race([first, waited]);
    clearTimeout(timer);
    if (result !== 'pending') return result;
    this.#log.warn('database still connecting: listening anyway, answering 503 until it is ready', { waited_ms: waitMs });
    void first.then((ok) => {
      if (ok) this.#log.info('database ready: serving requests', { demo_key: this.demoKey, created_demo_agent: this.createdDemoAgent });
    });
    return false;
  }

  /** The current demo key, re-read from the database so a rotated key shows up on the next page load. */
  async currentDemoKey(): Promise<string | null> {
    if (!this.#demo) return null;
    const db = this.runtime?.db;
    if (!db) return this.demoKey;
    try {
      this.demoKey = (await firstActiveAgent(db))?.api_key ?? null;
    } catch {
      // keep the last known key: the page still renders while the database hiccups
    }
    return this.demoKey;
  }

  /** Stops retrying and closes the runtime (its database). */
  async close(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    // An attempt still connecting closes its own runtime when it ends (it sees #stopped); wait only briefly.
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([this.#attempt?.catch(() => {}), new Promise((resolve) => (timer = setTimeout(resolve, 2_000)))]);
    clearTimeout(timer);
    await this.#maintenance?.stop();
    const rt = this.runtime;
    this.runtime = null;
    await rt?.close();
    this.#transport.close();
  }

  #tryOnce(quiet = false, first = false): Promise<boolean> {
    // Retries keep warnings and errors but not the runtime's info lines, repeated on every attempt.
    const base = this.#log;
    const log: Logger = quiet ? { info: () => {}, warn: (m, f) => base.warn(m, f), error: (m, f) => base.error(m, f) } : base;
    this.#attempt = (async () => {
      let rt: Runtime | undefined;
      try {
        rt = await createRuntime(this.#env, { log, migrate: true, offlineDemo: this.#demo, upstreamTransport: this.#transport });
        if (rt.db && this.#demo) {
          const { agent, created } = await ensureDemoAgent(rt.db);
          this.demoKey = agent?.api_key ?? null;
          this.createdDemoAgent = created;
          // Only when the summary is still to be printed: a password nobody is shown would lock the owner out.
          if (first) this.demoOwner = await giveDemoOwnerPassword(rt.db);
        }
        if (rt.db) this.ownerSignIn = await anyOwnerCanSignIn(rt.db);
        if (this.#stopped) {
          await rt.close();
          return false;
        }
        this.runtime = rt;
        this.lastError = null;
        this.#startMaintenance(rt, base);
        return true;
      } catch (err) {
        this.lastError = describe(err);
        await rt?.close().catch(() => {});
        return false;
      }
    })();
    return this.#attempt;
  }

  /** The maintenance timer on the runtime's own database; with supabase-js, pg_cron does it (migration 00005). */
  #startMaintenance(rt: Runtime, log: Logger): void {
    const { intervalMs, batchSize } = rt.config.maintenance;
    const db = rt.db;
    if (!db) {
      log.info('maintenance timer off: with supabase-js storage, pg_cron runs public.run_maintenance (see migration 00005)');
      return;
    }
    if (intervalMs <= 0) {
      log.info('maintenance timer off (MAINTENANCE_INTERVAL_MS=0): schedule public.run_maintenance elsewhere');
      return;
    }
    this.#maintenance = new MaintenanceTimer({
      log,
      intervalMs,
      run: (stopped) => runMaintenance(db, batchSize, { untilDone: true, stopped }),
    });
    this.#maintenance.start();
  }

  #schedule(delay: number, attempt: number): void {
    if (this.#stopped) return;
    // Log the first failure and then every tenth, so a long outage does not flood the log.
    if (attempt === 1 || attempt % 10 === 0) {
      this.#log.error('database unreachable: serving 503 and retrying in the background', {
        attempt,
        retry_in_ms: delay,
        error: this.lastError,
      });
    }
    this.#timer = setTimeout(async () => {
      if (await this.#tryOnce(true)) {
        this.#log.info('database reachable again: migrations applied, serving requests', {
          attempts: attempt + 1,
          demo_key: this.demoKey,
          created_demo_agent: this.createdDemoAgent,
        });
      } else this.#schedule(Math.min(delay * 2, this.#maxDelay), attempt + 1);
    }, delay);
    this.#timer.unref?.();
  }

  #delegatingStore(expectedKind: Store['kind']): Store {
    const need = (): Store => {
      if (!this.runtime) throw notReady();
      return this.runtime.store;
    };
    const current = () => this.runtime;
    return {
      get kind() {
        return current()?.store.kind ?? expectedKind;
      },
      agentByKey: (apiKey) => need().agentByKey(apiKey),
      beginTurn: (input) => need().beginTurn(input),
      endTurn: (input) => need().endTurn(input),
      abandonTurn: (conversationId, userMessageId) => need().abandonTurn(conversationId, userMessageId),
      history: (agentId, sessionId, limit) => need().history(agentId, sessionId, limit),
      visitorHistory: (agentId, sessionId, limit, userRef) => need().visitorHistory(agentId, sessionId, limit, userRef),
      requestStop: (agentId, sessionId, userRef) => need().requestStop(agentId, sessionId, userRef),
      stopRequests: (ids) => need().stopRequests(ids),
      userConversations: (agentId, userRef, limit) => need().userConversations(agentId, userRef, limit),
      setFeedback: (input) => need().setFeedback(input),
      ping: async () => {
        if (!this.runtime) throw new Error(`database not ready: ${this.lastError ?? 'starting'}`);
        await this.runtime.store.ping();
      },
      // The supervisor owns the runtime's lifetime (close() above).
      close: async () => {},
    };
  }

  #delegatingUpstream(expectedKind: Upstream['kind']): Upstream {
    const current = () => this.runtime;
    return {
      get kind() {
        return current()?.upstream?.kind ?? expectedKind;
      },
      stream(req, opts) {
        // The runtime's own generator, not a `yield*` around it: a delegating async generator costs a few
        // promises and microtasks per delta (2.6 % of the proxy's time at saturation, bench/leads/proxy-ab.ts).
        const inner = current()?.upstream;
        return inner ? inner.stream(req, opts) : failing(notReady());
      },
    };
  }
}
