/**
 * Bounded load test (`npm run test:load`, also run by CI): the proxy served by @hono/node-server on loopback,
 * a fresh real PostgreSQL database, the real Mistral client against the stand-in streaming realistic replies
 * (20 chunks, 5–15 ms apart), LOAD_CONVERSATIONS conversations × 3 turns, LOAD_CONCURRENCY at a time, each
 * turn a real fetch + SSE read. A few upstream faults are scripted in (every 50th request a 503, every 70th
 * cut mid-reply) so the error paths run under load too. Retries are off so each turn is one upstream request.
 *
 * Checks invariants, not speed (the machine is shared; timings are printed, never asserted):
 * every turn ends with done / error / a protocol JSON error; the database holds exactly one user message per
 * accepted turn, one assistant message per completed turn and per failed turn that relayed text, in order,
 * byte for byte, with no duplicates; one conversation per conversation run.
 * Prints `load: N passed, M failed` and exits 1 when an invariant fails. Skips (exit 0) without PostgreSQL.
 */
import { createAdaptorServer } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import { createParser } from 'eventsource-parser';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { ERROR_STATUS } from '../../src/protocol.ts';
import { createApp } from '../../src/server/app.ts';
import { loadConfig, type Config } from '../../src/server/config.ts';
import { migrate } from '../../src/server/db/migrate.ts';
import { openPostgres, type PostgresDb } from '../../src/server/db/postgres.ts';
import { memoryLogger } from '../../src/server/log.ts';
import { SqlStore } from '../../src/server/store/sql-store.ts';
import { createMistralUpstream } from '../../src/server/upstream/mistral.ts';
import { startMistralStandIn, type Behaviour, type MistralStandIn } from '../helpers/mistral-stand-in.ts';
import { serviceSkip } from '../../scripts/services.js';
import { createTestDatabase, pgAvailable, pgSkipReason, type TestDatabase } from '../helpers/pg.ts';
import { seedAgent } from '../helpers/pglite.ts';

function intEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  const n = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return n;
}

const CONVERSATIONS = intEnv('LOAD_CONVERSATIONS', 500);
const CONCURRENCY = intEnv('LOAD_CONCURRENCY', 50);
const TURNS = 3;
const TIME_LIMIT_MS = 5 * 60_000;
const FAULT_503_EVERY = 50;
const FAULT_CUT_EVERY = 70;
const CHUNKS = 20;
const CHUNK_SIZE = 8;
/** 20 content chunks of 8 characters. */
const REPLY_TEXT = 'Sure! Here is a reply streamed in twenty small chunks, like Mistral does it over the wire, ok?'
  .padEnd(CHUNKS * CHUNK_SIZE, '.')
  .slice(0, CHUNKS * CHUNK_SIZE);

interface TurnResult {
  /** done | error event code | `json:<code>` | `transport` (fetch failed) | `truncated` (stream ended with no final event). */
  outcome: string;
  status: number;
  started: boolean;
  relayed: string;
  deltas: number;
  firstDeltaMs: number | null;
  ms: number;
}

/** The upstream behaviour of the n-th request (1-based): what the stand-in serves, in arrival order. */
function behaviourFor(n: number): Behaviour {
  const chunkDelayMs = 5 + (n * 7) % 11; // 5–15 ms
  if (n % FAULT_503_EVERY === 0) {
    return { type: 'error', status: 503, body: { object: 'error', message: 'Service unavailable', type: 'internal', param: null, code: null } };
  }
  if (n % FAULT_CUT_EVERY === 0) {
    // The role chunk plus 2–11 content chunks, then the connection drops.
    return { type: 'cut', afterChunks: 3 + (n % 10), text: REPLY_TEXT, chunkSize: CHUNK_SIZE, chunkDelayMs };
  }
  return { type: 'reply', text: REPLY_TEXT, chunkSize: CHUNK_SIZE, chunkDelayMs };
}

async function chatTurn(base: string, apiKey: string, sessionId: string, message: string, signal: AbortSignal): Promise<TurnResult> {
  const t0 = performance.now();
  const r: TurnResult = { outcome: 'truncated', status: 0, started: false, relayed: '', deltas: 0, firstDeltaMs: null, ms: 0 };
  try {
    const res = await fetch(`${base}/v1/chat`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Api-Key': apiKey },
      body: JSON.stringify({ session_id: sessionId, message }),
      signal,
    });
    r.status = res.status;
    if (!(res.headers.get('Content-Type') ?? '').startsWith('text/event-stream')) {
      const body = (await res.json().catch(() => null)) as { error?: { code?: string } } | null;
      r.outcome = body?.error?.code ? `json:${body.error.code}` : `http:${res.status}`;
      return r;
    }
    let final: string | null = null;
    const parser = createParser({
      onEvent: (e) => {
        const data = JSON.parse(e.data) as { text?: string; code?: string };
        if (e.event === 'start') r.started = true;
        else if (e.event === 'delta') {
          r.deltas++;
          r.relayed += data.text ?? '';
          r.firstDeltaMs ??= performance.now() - t0;
        } else if (e.event === 'done') final = 'done';
        else if (e.event === 'error') final = data.code ?? 'error';
      },
    });
    const decoder = new TextDecoder();
    const reader = res.body!.getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      parser.feed(decoder.decode(value, { stream: true }));
    }
    if (final) r.outcome = final;
  } catch {
    r.outcome = 'transport';
  } finally {
    r.ms = performance.now() - t0;
  }
  return r;
}

const percentile = (sorted: number[], p: number) =>
  sorted.length === 0 ? NaN : (sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number);

async function main(): Promise<number> {
  // Outside CI: one skipped suite, counted by `npm test`; under CI=true serviceSkip throws (load: crashed).
  const skip = serviceSkip('PostgreSQL', await pgAvailable(), pgSkipReason);
  if (skip) {
    console.log(`load: skipped, ${skip}`);
    return 0;
  }

  let database: TestDatabase | undefined;
  let db: PostgresDb | undefined;
  let standIn: MistralStandIn | undefined;
  let server: Server | undefined;
  const stopAll = new AbortController();
  const timer = setTimeout(() => stopAll.abort(new Error('time limit')), TIME_LIMIT_MS);
  try {
    database = await createTestDatabase();
    db = openPostgres(database.url);
    await migrate(db);
    const { apiKey, agentId } = await seedAgent(db);
    // All traffic comes from one IP and sessions send turns back to back: lift the limits of migration 00003.
    const { rows: cols } = await db.query<{ column_name: string }>(
      `select column_name from information_schema.columns where table_schema = 'public' and table_name = 'agents'
          and column_name in ('rate_limit_session_per_minute', 'rate_limit_ip_per_minute')`,
    );
    for (const { column_name } of cols) await db.query(`update public.agents set ${column_name} = 0 where id = $1`, [agentId]);

    standIn = await startMistralStandIn({ record: false });
    const total = CONVERSATIONS * TURNS;
    standIn.script(Array.from({ length: total }, (_, i) => behaviourFor(i + 1)));

    const log = memoryLogger();
    const config: Config = {
      ...loadConfig({}),
      timeouts: { firstByteMs: 10_000, idleMs: 10_000, totalMs: 60_000 },
      retries: { max: 0, maxDelayMs: 0 },
    };
    const upstream = createMistralUpstream({ apiKey: 'sk-load', baseUrl: standIn.url, timeouts: config.timeouts, retries: config.retries, log });
    const proxy = createApp({ store: new SqlStore(db), upstream, config, log, getClientIp: (c) => getConnInfo(c).remote.address ?? null });
    server = createAdaptorServer({ fetch: proxy.app.fetch }) as Server;
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    console.log(`load: ${CONVERSATIONS} conversations × ${TURNS} turns, ${CONCURRENCY} at a time, PostgreSQL ${database.name}`);
    const runId = Date.now().toString(36);
    const sessions = Array.from({ length: CONVERSATIONS }, (_, c) => `load_${runId}_${String(c).padStart(5, '0')}`);
    const results: TurnResult[][] = sessions.map(() => []);
    let next = 0;
    // Where waiting happens, for the report: the event loop's lag and the pg pool's queue.
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    let poolWaitingMax = 0;
    const sampler = setInterval(() => (poolWaitingMax = Math.max(poolWaitingMax, db!.pool.waitingCount)), 5);
    const t0 = performance.now();
    const worker = async () => {
      while (next < sessions.length && !stopAll.signal.aborted) {
        const c = next++;
        for (let t = 0; t < TURNS; t++) {
          const message = `Conversation ${c}, turn ${t + 1}: «naïve café» — how are you? 🙂`;
          results[c]!.push(await chatTurn(base, apiKey, sessions[c]!, message, stopAll.signal));
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, CONVERSATIONS) }, worker));
    const elapsedS = (performance.now() - t0) / 1000;
    clearInterval(sampler);
    loopDelay.disable();
    // Replies are stored before the last event is sent; wait for any turn still closing on the server anyway.
    for (let i = 0; i < 500 && proxy.streams.active > 0; i++) await new Promise((r) => setTimeout(r, 10));

    // ---- what the database holds
    const { rows } = await db.query<{ session_id: string; role: string; content: string }>(
      `select c.session_id, m.role, m.content from public.messages m join public.conversations c on c.id = m.conversation_id
        where c.agent_id = $1 order by c.session_id, m.created_at, m.id`,
      [agentId],
    );
    const stored = new Map<string, { role: string; content: string }[]>();
    for (const r of rows) (stored.get(r.session_id) ?? stored.set(r.session_id, []).get(r.session_id)!).push(r);
    const { rows: convRows } = await db.query<{ n: number }>('select count(*)::int as n from public.conversations where agent_id = $1', [agentId]);
    const { rows: dupRows } = await db.query<{ n: number }>(
      `select count(*)::int as n from (select m.conversation_id, m.content from public.messages m
         join public.conversations c on c.id = m.conversation_id
        where c.agent_id = $1 and m.role = 'user' group by 1, 2 having count(*) > 1) d`,
      [agentId],
    );

    // ---- what the visitors saw, and what that means the database must hold
    const turns = results.flat();
    const byOutcome = new Map<string, number>();
    for (const r of turns) byOutcome.set(r.outcome, (byOutcome.get(r.outcome) ?? 0) + 1);
    const accepted = turns.filter((r) => r.started).length;
    const completed = turns.filter((r) => r.outcome === 'done').length;
    const partial = turns.filter((r) => r.started && r.outcome !== 'done' && r.deltas > 0).length;
    const userStored = rows.filter((r) => r.role === 'user').length;
    const assistantStored = rows.filter((r) => r.role === 'assistant').length;
    let sequenceMismatches = 0;
    let firstMismatch = '';
    sessions.forEach((s, c) => {
      const expected: { role: string; content: string }[] = [];
      results[c]!.forEach((r, t) => {
        if (!r.started) return;
        expected.push({ role: 'user', content: `Conversation ${c}, turn ${t + 1}: «naïve café» — how are you? 🙂` });
        if (r.outcome === 'done' || r.deltas > 0) expected.push({ role: 'assistant', content: r.relayed });
      });
      const got = (stored.get(s) ?? []).map((m) => ({ role: m.role, content: m.content }));
      if (JSON.stringify(got) !== JSON.stringify(expected)) {
        sequenceMismatches++;
        firstMismatch ||= `${s}: expected ${JSON.stringify(expected)}, stored ${JSON.stringify(got)}`;
      }
    });
    const knownOutcome = (o: string) => o === 'done' || Object.hasOwn(ERROR_STATUS, o.replace(/^json:/, ''));

    const invariants: [string, boolean, string][] = [
      ['every turn ran (no time limit hit)', !stopAll.signal.aborted && turns.length === total, `${turns.length}/${total} turns`],
      ['every turn ended with done, an error event or a protocol JSON error', turns.every((r) => knownOutcome(r.outcome)),
        `transport ${byOutcome.get('transport') ?? 0}, truncated ${byOutcome.get('truncated') ?? 0}`],
      ['one conversation per conversation run', convRows[0]?.n === CONVERSATIONS, `${convRows[0]?.n} stored / ${CONVERSATIONS}`],
      ['one user message per accepted turn', userStored === accepted, `${userStored} stored / ${accepted} accepted`],
      ['one assistant message per completed or partially relayed turn', assistantStored === completed + partial,
        `${assistantStored} stored / ${completed} completed + ${partial} partial`],
      ['no duplicate user message', dupRows[0]?.n === 0, `${dupRows[0]?.n} duplicated`],
      ['every conversation stored in order, byte for byte, as relayed', sequenceMismatches === 0,
        sequenceMismatches ? `${sequenceMismatches} differ; first: ${firstMismatch.slice(0, 400)}` : 'all match'],
      ['the injected faults ran (503 and cut mid-reply)', (byOutcome.get('upstream_error') ?? 0) > 0 && partial > 0,
        `upstream_error ${byOutcome.get('upstream_error') ?? 0}, partial ${partial}`],
      ['no turn left open on the server', proxy.streams.active === 0, `${proxy.streams.active} open`],
    ];

    // ---- report
    const ttfd = turns.flatMap((r) => (r.firstDeltaMs === null ? [] : [r.firstDeltaMs])).sort((a, b) => a - b);
    const turnMs = turns.map((r) => r.ms).sort((a, b) => a - b);
    const table: Record<string, string | number> = {
      turns: turns.length,
      accepted,
      completed,
      'failed after text (partial stored)': partial,
      'failed before text': accepted - completed - partial,
      'refused before start': turns.length - accepted,
    };
    for (const [outcome, n] of [...byOutcome].sort()) if (outcome !== 'done') table[`errors: ${outcome}`] = n;
    Object.assign(table, {
      'elapsed s': elapsedS.toFixed(1),
      'turns/s': (turns.length / elapsedS).toFixed(1),
      'time to first delta p50 ms': percentile(ttfd, 50).toFixed(1),
      'time to first delta p95 ms': percentile(ttfd, 95).toFixed(1),
      'turn p50 ms': percentile(turnMs, 50).toFixed(1),
      'turn p95 ms': percentile(turnMs, 95).toFixed(1),
      'event loop delay p99 ms': (loopDelay.percentile(99) / 1e6).toFixed(1),
      'pg pool queue max': poolWaitingMax,
      'log lines warn/error': `${log.lines.filter((l) => l.level === 'warn').length}/${log.lines.filter((l) => l.level === 'error').length}`,
    });
    console.table(table);
    for (const [name, ok, detail] of invariants) console.log(`${ok ? 'ok  ' : 'FAIL'} ${name} (${detail})`);
    const passed = invariants.filter(([, ok]) => ok).length;
    const failed = invariants.length - passed;
    console.log(`load: ${passed} passed, ${failed} failed`);
    await proxy.shutdown(1_000);
    return failed === 0 ? 0 : 1;
  } finally {
    clearTimeout(timer);
    if (server) {
      server.closeAllConnections();
      await new Promise((r) => server!.close(r));
    }
    await standIn?.close();
    await db?.close();
    await database?.drop();
  }
}

// A hard stop in case cleanup itself hangs past the time limit.
setTimeout(() => {
  console.error('load: still running 30 s past the time limit; giving up');
  process.exit(1);
}, TIME_LIMIT_MS + 30_000).unref();

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error('load: crashed', err);
    console.log('load: 0 passed, 1 failed');
    process.exit(1);
  },
);
