/**
 * Child processes for the benchmarks (the proxy, the Mistral stand-in), so the load generator, the proxy
 * and the stand-in each have their own event loop. Talks over Node's IPC channel: the child announces
 * `{ type: 'ready', ... }`, then answers numbered requests `{ id, type, ... }` with `{ id, ... }`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Child<Ready> {
  proc: ChildProcess;
  ready: Ready;
  request<T = Record<string, unknown>>(type: string, payload?: Record<string, unknown>): Promise<T>;
  /** Asks the child to stop (it closes its server and exits); kills it after `timeoutMs`. */
  stop(timeoutMs?: number): Promise<void>;
}

type Message = { id?: number; type?: string; error?: string } & Record<string, unknown>;

export async function startChild<Ready>(
  script: string,
  env: Record<string, string | undefined>,
  opts: { startTimeoutMs?: number; label?: string; nodeArgs?: string[] } = {},
): Promise<Child<Ready>> {
  // Relative to bench/, or absolute (bench/leads/proxy-ab.ts runs another tree's proxy-child.ts).
  const file = isAbsolute(script) ? script : fileURLToPath(new URL(`../${script}`, import.meta.url));
  const proc = spawn(process.execPath, [...(opts.nodeArgs ?? []), '--import', 'tsx', file], {
    env: env as NodeJS.ProcessEnv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const label = opts.label ?? script;
  const pending = new Map<number, { resolve: (m: Message) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    proc.once('exit', (code, signal) => {
      exited = true;
      for (const p of pending.values()) p.reject(new Error(`${label} exited (${code ?? signal}) before answering`));
      pending.clear();
      resolve();
    }),
  );

  const ready = await new Promise<Ready>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${label} did not start within ${opts.startTimeoutMs ?? 60_000} ms`)), opts.startTimeoutMs ?? 60_000);
    proc.on('message', (m: Message) => {
      if (m.type === 'ready') {
        clearTimeout(timer);
        resolve(m as unknown as Ready);
      } else if (m.type === 'failed') {
        clearTimeout(timer);
        reject(new Error(`${label} failed to start: ${m.error}`));
      } else if (typeof m.id === 'number') {
        const p = pending.get(m.id);
        pending.delete(m.id);
        if (m.error) p?.reject(new Error(`${label}: ${m.error}`));
        else p?.resolve(m);
      }
    });
    void exit.then(() => {
      clearTimeout(timer);
      reject(new Error(`${label} exited during start`));
    });
  });

  return {
    proc,
    ready,
    request<T>(type: string, payload: Record<string, unknown> = {}) {
      if (exited) return Promise.reject(new Error(`${label} is not running`));
      const id = nextId++;
      return new Promise<T>((resolve, reject) => {
        pending.set(id, { resolve: (m) => resolve(m as T), reject });
        proc.send({ ...payload, id, type });
      });
    },
    async stop(timeoutMs = 15_000) {
      if (exited) return;
      proc.send({ id: nextId++, type: 'stop' });
      const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
      await exit;
      clearTimeout(timer);
    },
  };
}

/** Child side: answer requests from the parent with `handler`; `stop` is routed to it too. */
export function serveParent(handler: (m: Message) => Promise<Record<string, unknown>>): void {
  process.on('message', (m: Message) => {
    handler(m).then(
      (reply) => process.send?.({ ...reply, id: m.id }),
      (err: unknown) => process.send?.({ id: m.id, error: err instanceof Error ? err.message : String(err) }),
    );
  });
  // The parent went away (Ctrl-C, crash): do not linger.
  process.on('disconnect', () => process.exit(0));
}
