/**
 * A turn as the proxy makes it (begin_turn, then end_turn, each its own transaction, as the service role,
 * rate limits and a daily budget on but high), measured on two databases in alternating phases of the same
 * run: PostgreSQL CPU per turn (the backends running the turns, from /proc/<pid>/schedstat, nanoseconds)
 * and wall time per turn. The ratio is B over A; each round gives one (phases A,B then B,A…), and the
 * median of the rounds is reported, so load from other tenants that drifts over the run hits both sides.
 */
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { quantiles, round } from '../lib/stats.ts';

export interface TurnTarget {
  label: string;
  url: string;
  apiKey: string;
}

export interface TurnSide {
  turns: number;
  cpu_ms_per_turn: number;
  turn_ms: { p50: number; p99: number };
}

export interface TurnComparison {
  a: TurnSide & { label: string };
  b: TurnSide & { label: string };
  /** B over A: CPU per turn (median of the rounds' ratios), and wall time per turn at p50 / p99. */
  ratio: { cpu: number; p50: number; p99: number };
  rounds: number[];
}

/** CPU time so far of a process in ms: schedstat (ns) where the kernel has it, else stat's 10 ms ticks. */
function cpuMs(pid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
  } catch {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  }
}

const QUESTION = 'How do I reset my password? I tried the link in the email but it says it expired.';
const REPLY = 'To reset your password, open Settings, then Security, and choose "Send a new link". The link is valid for 30 minutes. '.repeat(4);

interface Side {
  target: TurnTarget;
  clients: { client: pg.Client; pid: number; sessions: { id: string; turns: number }[] }[];
  cpu: number;
  times: number[];
}

let sessionSeq = 0;

async function open(target: TurnTarget, clients: number): Promise<Side> {
  const side: Side = { target, clients: [], cpu: 0, times: [] };
  for (let i = 0; i < clients; i++) {
    const client = new pg.Client({ connectionString: target.url });
    await client.connect();
    await client.query('set role service_role');
    const pid = (await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
    side.clients.push({ client, pid, sessions: [] });
  }
  return side;
}

/** Turns for `ms` on every client at once: 70 % continue one of the client's conversations (up to 8 turns), 30 % start one. */
async function phase(side: Side, ms: number, keep: boolean): Promise<{ cpu: number; turns: number }> {
  const cpu0 = side.clients.map((c) => cpuMs(c.pid));
  const end = performance.now() + ms;
  let turns = 0;
  await Promise.all(
    side.clients.map(async (c) => {
      while (performance.now() < end) {
        let session = c.sessions.find((s) => s.turns < 8 && Math.random() < 0.7);
        if (!session) {
          session = { id: `bench-turn-${process.pid}-${sessionSeq++}`, turns: 0 };
          c.sessions.push(session);
          if (c.sessions.length > 40) c.sessions.shift();
        }
        session.turns++;
        const t0 = performance.now();
        const begun = await c.client.query<{ r: { ok: boolean; conversation_id: string; user_message_id: string } }>(
          `select public.begin_turn($1, 'https://shop.example.com', $2, $3, $4, '{"page":"/help"}'::jsonb, $5, 20, 24000) as r`,
          [side.target.apiKey, `203.0.113.${sessionSeq % 250}`, session.id, `visitor-${session.id}`, QUESTION],
        );
        const r = begun.rows[0]!.r;
        if (!r.ok) throw new Error(`begin_turn refused a bench turn on ${side.target.label}: ${JSON.stringify(r)}`);
        await c.client.query('select public.end_turn($1, $2, $3, $4, $5, $6)', [r.conversation_id, r.user_message_id, REPLY, 180, 120, 900]);
        if (keep) side.times.push(performance.now() - t0);
        turns++;
      }
    }),
  );
  const cpu = side.clients.reduce((sum, c, i) => sum + cpuMs(c.pid) - cpu0[i]!, 0);
  if (keep) side.cpu += cpu;
  return { cpu, turns };
}

export async function compareTurns(
  a: TurnTarget,
  b: TurnTarget,
  opts: { clients: number; phaseMs: number; rounds: number },
): Promise<TurnComparison> {
  const sa = await open(a, opts.clients);
  const sb = await open(b, opts.clients);
  try {
    await phase(sa, 800, false); // warm caches and plans on both sides
    await phase(sb, 800, false);
    const ratios: number[] = [];
    let turnsA = 0;
    let turnsB = 0;
    for (let r = 0; r < opts.rounds; r++) {
      const order = r % 2 === 0 ? [sa, sb] : [sb, sa];
      const per = new Map<Side, number>();
      for (const side of order) {
        const x = await phase(side, opts.phaseMs, true);
        per.set(side, x.cpu / Math.max(1, x.turns));
        if (side === sa) turnsA += x.turns;
        else turnsB += x.turns;
      }
      ratios.push(per.get(sb)! / per.get(sa)!);
    }
    const sorted = [...ratios].sort((x, y) => x - y);
    const qa = quantiles(sa.times);
    const qb = quantiles(sb.times);
    const sideOf = (s: Side, turns: number, q: typeof qa) => ({
      label: s.target.label,
      turns,
      cpu_ms_per_turn: round(s.cpu / Math.max(1, turns), 3),
      turn_ms: { p50: round(q.p50, 2), p99: round(q.p99, 2) },
    });
    return {
      a: sideOf(sa, turnsA, qa),
      b: sideOf(sb, turnsB, qb),
      ratio: { cpu: round(sorted[Math.floor(sorted.length / 2)]!, 3), p50: round(qb.p50 / qa.p50, 3), p99: round(qb.p99 / qa.p99, 3) },
      rounds: ratios.map((x) => round(x, 3)),
    };
  } finally {
    for (const s of [sa, sb]) for (const c of s.clients) await c.client.end().catch(() => {});
  }
}

/** The worse (higher CPU ratio) of two complete comparisons, as every bench figure is the worse of two runs. */
export async function compareTurnsTwice(a: TurnTarget, b: TurnTarget, opts: { clients: number; phaseMs: number; rounds: number }) {
  const first = await compareTurns(a, b, opts);
  const second = await compareTurns(a, b, opts);
  return first.ratio.cpu >= second.ratio.cpu ? { worse: first, other: second } : { worse: second, other: first };
}
