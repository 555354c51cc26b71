/**
 * Measures the leads for closing the proxy's gaps, each in isolation with A/B variants alternated (A B C, C B A,
 * …) so drift on this shared machine hits all alike. Not part of `npm run bench`: run it when working on a lead,
 * and keep its numbers (with the date and load) in bench/profile-notes.md.
 *
 *   node --import tsx bench/leads.ts                 all leads
 *   node --import tsx bench/leads.ts upstream sse    some: upstream (fetch vs node:http), sse (streamSSE vs
 *                                                    src/server/http/sse.ts vs a bare ReadableStream vs raw writes), commit (overhead with the
 *                                                    begin_turn commit flushed or not), sql (turn functions' cost)
 */
import { loadavg } from 'node:os';
import pg from 'pg';
import { migratedTestDatabase, pgAvailable } from '../test/helpers/pg.ts';
import { seedAgent } from '../test/helpers/pglite.ts';
import { startChild } from './lib/child.ts';
import { processCpu } from './lib/cpu.ts';
import { CompletionsConversation, ProxyConversation, runPhase, target, type Conversation, type TurnSample } from './lib/load.ts';
import { BENCH_LIMITS, measureLevel, proxyEnv, type ProxyReady, type Side } from './lib/proxy-bench.ts';
import { round } from './lib/stats.ts';
import http from 'node:http';
import { createParser } from 'eventsource-parser';

const wanted = new Set(process.argv.slice(2));
const wants = (x: string) => wanted.size === 0 || wanted.has(x);
const ROUNDS = 4;
const say = (s: string) => console.log(s);
const table = (head: string[], rows: (string | number)[][]) =>
  [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');

say(`# leads, ${new Date().toISOString()}, load average ${loadavg().map((x) => x.toFixed(2)).join(' / ')}`);

/** Alternates variants over ROUNDS rounds (order reversed every other round); sums per variant. */
async function alternate<T extends Record<string, number>>(variants: string[], once: (v: string) => Promise<T>): Promise<Map<string, T>> {
  const sums = new Map<string, T>();
  for (let r = 0; r < ROUNDS; r++) {
    for (const v of r % 2 ? [...variants].reverse() : variants) {
      const x = await once(v);
      const s = sums.get(v);
      sums.set(v, (s ? Object.fromEntries(Object.entries(x).map(([k, n]) => [k, (s[k] as number) + n])) : x) as T);
    }
  }
  return sums;
}

if (wants('upstream')) {
  const standIn = await startChild<{ url: string }>('stand-in-child.ts', process.env, { label: 'stand-in' });
  const client = await startChild<Record<string, never>>('leads/upstream-child.ts', process.env, { label: 'upstream client' });
  try {
    const variants = ['fetch', 'http-shim', 'node-transport', 'http-raw'];
    const sums = await alternate(variants, (variant) =>
      client.request<{ replies: number; cpuMs: number; kernelMs: number }>('run', { variant, url: standIn.ready.url, concurrency: 100, durationMs: 5_000 }),
    );
    say('\n## Upstream client: CPU per reply (40 chunks 20 ms apart), 100 replies at a time, client process only\n');
    say(
      table(
        ['variant', 'replies', 'CPU ms/reply', 'of which kernel'],
        variants.map((v) => {
          const s = sums.get(v) as { replies: number; cpuMs: number; kernelMs: number };
          return [v, s.replies, round(s.cpuMs / s.replies, 3), round(s.kernelMs / s.replies, 3)];
        }),
      ),
    );
  } finally {
    await client.stop();
    await standIn.stop();
  }
}

/** One SSE stream read to its end, like the widget (the load generator's parser). */
class SseReader implements Conversation {
  constructor(
    readonly t: ReturnType<typeof target>,
    readonly path: string,
  ) {}
  turn(): Promise<TurnSample> {
    const t0 = performance.now();
    return new Promise((resolve) => {
      const req = http.request({ host: this.t.host, port: this.t.port, agent: this.t.agent, method: 'POST', path: this.path, headers: { 'content-length': 0 } }, (res) => {
        res.setEncoding('utf8');
        let done = false;
        const parser = createParser({ onEvent: (e) => void (e.event === 'done' && (done = true)) });
        res.on('data', (c: string) => parser.feed(c));
        res.on('end', () => resolve({ startedAt: t0, ttftMs: 0, endedAt: performance.now(), started: true, done }));
      });
      req.on('error', (e) => resolve({ startedAt: t0, ttftMs: 0, endedAt: performance.now(), started: false, done: false, error: e.message }));
      req.end();
    });
  }
}

if (wants('sse')) {
  const server = await startChild<{ port: number }>('leads/sse-child.ts', process.env, { label: 'sse server' });
  const t = target(`http://127.0.0.1:${server.ready.port}`);
  try {
    const variants = ['hono-sse', 'writer', 'readable', 'raw'];
    const pid = server.proc.pid as number;
    const sums = await alternate(variants, async (v) => {
      const c0 = processCpu(pid);
      const r = await runPhase(
        Array.from({ length: 100 }, () => new SseReader(t, `/${v}`)),
        { durationMs: 5_000, staggerMs: 1_000 },
      );
      const c1 = processCpu(pid);
      const streams = r.samples.filter((s) => s.done).length;
      return { streams, cpuMs: c1.user + c1.system - c0.user - c0.system, kernelMs: c1.system - c0.system };
    });
    say('\n## SSE out of the proxy: server CPU per stream (start + 40 deltas 20 ms apart + done), 100 streams at a time\n');
    say(
      table(
        ['variant', 'streams', 'CPU ms/stream', 'of which kernel'],
        variants.map((v) => {
          const s = sums.get(v) as { streams: number; cpuMs: number; kernelMs: number };
          return [v, s.streams, round(s.cpuMs / s.streams, 3), round(s.kernelMs / s.streams, 3)];
        }),
      ),
    );
  } finally {
    t.agent.destroy();
    await server.stop();
  }
}

if (wants('commit') && (await pgAvailable())) {
  // The begin_turn commit waits for its WAL flush before `start` can be sent: how much of the overhead is that?
  const standIn = await startChild<{ url: string }>('stand-in-child.ts', process.env, { label: 'stand-in' });
  const { db, url, cleanup } = await migratedTestDatabase({ max: 1 });
  try {
    const { apiKey, agentId } = await seedAgent(db, { instructions: 'You are a helpful test agent.' });
    await db.query(`update public.agents set rate_limit_session_per_minute = $2, rate_limit_ip_per_minute = $3, daily_token_budget = $4 where id = $1`, [
      agentId,
      BENCH_LIMITS.rate_limit_session_per_minute,
      BENCH_LIMITS.rate_limit_ip_per_minute,
      BENCH_LIMITS.daily_token_budget,
    ]);
    const dbName = new URL(url).pathname.slice(1);
    const rows: (string | number)[][] = [];
    for (const setting of ['on', 'off', 'on', 'off']) {
      await db.query(`alter database "${dbName}" set synchronous_commit = ${setting}`);
      const proxy = await startChild<ProxyReady>('proxy-child.ts', proxyEnv({ DATABASE_URL: url, MISTRAL_BASE_URL: standIn.ready.url }), { label: 'proxy' });
      const pt = target(`http://127.0.0.1:${proxy.ready.port}`);
      const dt = target(standIn.ready.url);
      try {
        const sides: Side[] = [
          { name: 'postgres', target: pt, pid: proxy.proc.pid as number, conversation: (p) => new ProxyConversation(pt, apiKey, p) },
          { name: 'direct', target: dt, pid: null, conversation: () => new CompletionsConversation(dt) },
        ];
        await runPhase(Array.from({ length: 20 }, () => sides[0]?.conversation('w_') as Conversation), { durationMs: 2_000, staggerMs: 1_000 });
        for (const level of [{ c: 1, turns: 15 }, { c: 50, phaseMs: 5_000 }]) {
          const r = await measureLevel(sides, level, 1, (standIn.proc.pid as number) ?? 0, say);
          const f = r.postgres;
          if (f) rows.push([setting, `c${level.c}`, f.overhead_ms.p50, f.overhead_ms.p95, f.overhead_ms.p99, f.n.join('+')]);
        }
      } finally {
        pt.agent.destroy();
        dt.agent.destroy();
        await proxy.stop();
      }
    }
    say('\n## Proxy overhead on first text with the begin_turn commit flushed (synchronous_commit on, the default) or not\n');
    say(table(['synchronous_commit', 'level', 'overhead p50 ms', 'p95', 'p99', 'n'], rows));
  } finally {
    await cleanup();
    await standIn.stop();
  }
}

if (wants('sql') && (await pgAvailable())) {
  const { db, url, cleanup } = await migratedTestDatabase({ max: 1 });
  try {
    const { apiKey, agentId } = await seedAgent(db, { instructions: 'You are a helpful test agent.' });
    await db.query(`update public.agents set rate_limit_session_per_minute = $2, rate_limit_ip_per_minute = $3, daily_token_budget = $4 where id = $1`, [
      agentId,
      BENCH_LIMITS.rate_limit_session_per_minute,
      BENCH_LIMITS.rate_limit_ip_per_minute,
      BENCH_LIMITS.daily_token_budget,
    ]);
    const original = (await db.query<{ def: string }>(`select pg_get_functiondef('public.next_message_time(uuid)'::regprocedure) as def`)).rows[0]?.def as string;
    const inlinable = original.replace(/\n\s*SET search_path TO ''\n/i, '\n');
    if (inlinable === original) throw new Error('next_message_time has no SET search_path clause any more: update this lead');
    const client = new pg.Client({ connectionString: url });
    client.on('error', () => {}); // dropped with the database when a variant fails: the failure is what to show
    await client.connect();
    const backend = (await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]?.pid as number;
    // The calls the proxy makes (src/server/store/sql-store.ts).
    const BEGIN = 'select public.begin_turn($1::text, $2::text, $3::text, $4::text, $5::text, $6::text::jsonb, $7::text, $8::int, $9::int, $10::text, $11::int) as r';
    const END = 'select public.end_turn($1::uuid, $2::uuid, $3::text, $4::int, $5::int, $6::int, $7::text::jsonb, $8::boolean) as id';
    const reply = 'Our opening hours on Saturdays are 9:00 to 17:00. '.repeat(7);
    let session = 0;
    // (A variant without idx_messages_conversation_id was here: that index is gone since migration 00006.)
    const variants = ['today', 'prepared', 'next_message_time inlinable', 'synchronous_commit off'];
    const sums = await alternate(variants, async (v) => {
      if (v === 'next_message_time inlinable') await db.exec(inlinable);
      if (v === 'synchronous_commit off') await client.query('set synchronous_commit = off');
      const named = v === 'prepared';
      const c0 = processCpu(backend);
      const t0 = performance.now();
      let turns = 0;
      // 20 conversations of 12 turns: histories grow as in the bench.
      for (let s = 0; s < 20; s++) {
        const sid = `lead_${session++}`;
        for (let i = 0; i < 12; i++) {
          const b = await client.query<{ r: { conversation_id: string; user_message_id: string } }>({
            ...(named ? { name: 'begin_turn' } : {}),
            text: BEGIN,
            values: [apiKey, null, `127.8.${s}.1`, sid, 'v_lead', '{}', `Bench message ${i}: what are your opening hours on Saturdays?`, 20, 24000, null, 120000],
          });
          await client.query({ ...(named ? { name: 'end_turn' } : {}), text: END, values: [b.rows[0]?.r.conversation_id, b.rows[0]?.r.user_message_id, reply, 300, 80, 1000, null, false] });
          turns++;
        }
      }
      const ms = performance.now() - t0;
      const c1 = processCpu(backend);
      if (v === 'next_message_time inlinable') await db.exec(original);
      if (v === 'synchronous_commit off') await client.query('reset synchronous_commit');
      return { turns, wallMs: ms, cpuMs: c1.user + c1.system - c0.user - c0.system };
    });
    await client.end();
    say('\n## PostgreSQL: begin_turn + end_turn, one connection, one turn at a time (limits on, histories up to 20 messages)\n');
    const base = sums.get('today') as { turns: number; wallMs: number; cpuMs: number };
    say(
      table(
        ['variant', 'turns', 'wall ms/turn', 'backend CPU ms/turn', 'CPU vs today'],
        variants.map((v) => {
          const s = sums.get(v) as { turns: number; wallMs: number; cpuMs: number };
          return [v, s.turns, round(s.wallMs / s.turns, 3), round(s.cpuMs / s.turns, 3), `×${round(s.cpuMs / s.turns / (base.cpuMs / base.turns), 2)}`];
        }),
      ),
    );
  } finally {
    await cleanup();
  }
}
process.exit(0);
