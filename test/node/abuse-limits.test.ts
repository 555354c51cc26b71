/**
 * Abuse control in the database (migration 00003), on PGlite and real PostgreSQL: the widget key is
 * public, so begin_turn refuses turns over the per-session, per-IP and daily-token limits before storing
 * anything, with counters shared by every proxy instance; agent_by_key returns the origin allowlist.
 * Token usage is a sharded counter (up to 16 rows per agent and day): every read sums the shards.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import type { Db } from '../../src/server/db/db.ts';
import type { BeginTurnInput, BeginTurnResult } from '../../src/server/store/store.ts';
import { SqlStore } from '../../src/server/store/sql-store.ts';
import { migratedTestDatabase, pgSkip, type MigratedDb } from '../helpers/pg.ts';
import { migratedPgliteDb, seedAgent, type SeededAgent } from '../helpers/pglite.ts';

const pgSkipReason = await pgSkip();

interface Limits {
  session?: number | null;
  ip?: number | null;
  budget?: number | null;
  origins?: string[] | null;
}

type Refusal = Extract<BeginTurnResult, { ok: false }>;

const session = () => `sess_${randomUUID().replaceAll('-', '')}`;

/** Seconds until the next UTC midnight, as the database should count them. */
const secondsToUtcMidnight = () => {
  const now = new Date();
  return (Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1) - now.getTime()) / 1000;
};

function abuseSuite(name: string, open: () => Promise<MigratedDb>, skip: string | false = false) {
  describe(name, { skip }, () => {
    let o: MigratedDb;
    let db: Db;
    let store: SqlStore;
    before(async () => {
      o = await open();
      db = o.db;
      store = new SqlStore(db);
    });
    after(() => o?.cleanup());

    /** An agent with these abuse-control settings (omitted = column left null, i.e. the default). */
    const agentWith = async (limits: Limits = {}): Promise<SeededAgent> => {
      const a = await seedAgent(db);
      await db.query(
        `update public.agents set rate_limit_session_per_minute = $2, rate_limit_ip_per_minute = $3,
                daily_token_budget = $4, allowed_origins = $5 where id = $1`,
        [a.agentId, limits.session ?? null, limits.ip ?? null, limits.budget ?? null, limits.origins ?? null],
      );
      return a;
    };

    const begin = (a: SeededAgent, over: Partial<BeginTurnInput> = {}) =>
      store.beginTurn({
        apiKey: a.apiKey,
        origin: null,
        clientIp: null,
        sessionId: session(),
        visitorId: null,
        metadata: {},
        content: 'hello',
        historyLimit: 20,
        historyChars: 24000,
        ...over,
      });

    const refused = (r: BeginTurnResult): Refusal => {
      assert.equal(r.ok, false, 'the turn is refused');
      return r as Refusal;
    };

    const userMessages = async (a: SeededAgent, sessionId: string) =>
      (await store.history(a.agentId, sessionId, 1000)).filter((m) => m.role === 'user').length;

    /** Today's billed tokens of an agent: the sum of its shards (undefined before any). */
    const usageToday = async (a: SeededAgent) =>
      (
        await db.query<{ tokens: string | null }>(
          "select sum(tokens)::text as tokens from public.agent_token_usage where agent_id = $1 and day = (now() at time zone 'utc')::date",
          [a.agentId],
        )
      ).rows[0]?.tokens ?? undefined;

    const conversationExists = async (a: SeededAgent, sessionId: string) =>
      (
        await db.query('select 1 from public.conversations where agent_id = $1 and session_id = $2', [a.agentId, sessionId])
      ).rows.length > 0;

    /**
     * Limits count per wall-clock minute: make sure the turns of one check fall in one window by waiting
     * for the next minute when fewer than `need` seconds are left in this one.
     */
    const roomInMinute = async (need = 15) => {
      const { rows } = await db.query<{ left: number }>(
        "select extract(epoch from date_trunc('minute', now()) + interval '1 minute' - now())::float8 as left",
      );
      const left = Number(rows[0]!.left);
      if (left < need) await sleep(left * 1000 + 250);
    };

    it('refuses the 21st turn of a session within a minute, says when to retry, and stores nothing for it', async () => {
      const a = await agentWith();
      const sessionId = session();
      await roomInMinute();
      for (let i = 1; i <= 20; i++) {
        const r = await begin(a, { sessionId, content: `m${i}` });
        assert.ok(r.ok, `turn ${i} accepted`);
      }
      const r = refused(await begin(a, { sessionId, content: 'one too many' }));
      assert.equal(r.code, 'rate_limited');
      assert.ok(Number.isInteger(r.retryAfter) && r.retryAfter! >= 1 && r.retryAfter! <= 60, `retryAfter ${r.retryAfter}`);
      assert.match(r.message ?? '', /conversation.*20 per minute/);
      assert.equal(await userMessages(a, sessionId), 20, 'the refused message is not stored');
      const other = await begin(a, { content: 'another visitor' });
      assert.ok(other.ok, 'another session of the same agent is unaffected');
    });

    it('limits turns per client IP across sessions, other IPs unaffected', async () => {
      const a = await agentWith({ ip: 3 });
      await roomInMinute();
      for (let i = 0; i < 3; i++) assert.ok((await begin(a, { clientIp: '203.0.113.7' })).ok);
      const sessionId = session();
      const r = refused(await begin(a, { sessionId, clientIp: '203.0.113.7' }));
      assert.equal(r.code, 'rate_limited');
      assert.ok(r.retryAfter! >= 1 && r.retryAfter! <= 60);
      assert.match(r.message ?? '', /network.*3 per minute/);
      assert.equal(await conversationExists(a, sessionId), false, 'no conversation is created for a refused first turn');
      assert.ok((await begin(a, { clientIp: '198.51.100.4' })).ok, 'another IP is unaffected');
      const b = await agentWith({ ip: 3 });
      assert.ok((await begin(b, { clientIp: '203.0.113.7' })).ok, 'the same IP on another agent is unaffected');
    });

    it('skips the per-IP limit when the client IP is unknown', async () => {
      const a = await agentWith({ ip: 1 });
      await roomInMinute();
      for (let i = 0; i < 5; i++) assert.ok((await begin(a, { clientIp: null })).ok, `turn ${i} without an IP`);
      const { rows } = await db.query("select bucket from public.rate_limits where bucket like 'i:' || $1 || ':%'", [a.agentId]);
      assert.deepEqual(rows, [], 'no IP bucket is counted');
    });

    it('applies per-agent limits: custom numbers, and 0 for unlimited', async () => {
      const strict = await agentWith({ session: 2, ip: 100 });
      const sessionId = session();
      await roomInMinute();
      assert.ok((await begin(strict, { sessionId })).ok);
      assert.ok((await begin(strict, { sessionId })).ok);
      assert.match(refused(await begin(strict, { sessionId })).message ?? '', /2 per minute/);

      const open = await agentWith({ session: 0, ip: 0 });
      const busy = session();
      for (let i = 0; i < 25; i++) assert.ok((await begin(open, { sessionId: busy, clientIp: '192.0.2.1' })).ok, `turn ${i}`);
      const { rows } = await db.query("select bucket from public.rate_limits where bucket like '%:' || $1 || ':%'", [
        open.agentId,
      ]);
      assert.deepEqual(rows, [], 'unlimited agents cost no counter');
    });

    it('starts a fresh count when the minute is over', async () => {
      const a = await agentWith({ session: 2 });
      const sessionId = session();
      await roomInMinute();
      await begin(a, { sessionId });
      await begin(a, { sessionId });
      refused(await begin(a, { sessionId }));
      await db.query("update public.rate_limits set window_start = window_start - interval '1 minute' where bucket = $1", [
        `s:${a.agentId}:${sessionId}`,
      ]);
      assert.ok((await begin(a, { sessionId })).ok, 'accepted in the next window');
      const { rows } = await db.query<{ hits: number }>('select hits from public.rate_limits where bucket = $1', [
        `s:${a.agentId}:${sessionId}`,
      ]);
      assert.equal(rows[0]?.hits, 1);
    });

    it('counts billed tokens per day and refuses turns once the daily budget is spent, until tomorrow', async () => {
      const a = await agentWith({ budget: 100 });
      const sessionId = session();
      const usage = () => usageToday(a);
      const turn = async (prompt: number | null, completion: number | null) => {
        const r = await begin(a, { sessionId });
        assert.ok(r.ok);
        await store.endTurn({
          conversationId: r.conversationId,
          userMessageId: r.userMessageId,
          content: 'reply',
          promptTokens: prompt,
          completionTokens: completion,
          responseTimeMs: 10,
        });
      };
      await turn(60, 30);
      assert.equal(await usage(), '90');
      await turn(null, null); // a Stop before usage arrived counts nothing
      assert.equal(await usage(), '90');
      await turn(10, 5); // under budget when it started: it may finish past it
      assert.equal(await usage(), '105');

      const r = refused(await begin(a, { sessionId, content: 'over budget' }));
      assert.equal(r.code, 'rate_limited');
      assert.match(r.message ?? '', /daily budget/);
      assert.ok(r.retryAfter! >= 1 && r.retryAfter! <= 86400, `retryAfter ${r.retryAfter}`);
      assert.ok(Math.abs(r.retryAfter! - secondsToUtcMidnight()) <= 5, 'retry at the next UTC midnight');
      assert.equal(await userMessages(a, sessionId), 3, 'the refused message is not stored');

      await db.query('update public.agent_token_usage set day = day - 1 where agent_id = $1', [a.agentId]);
      assert.ok((await begin(a, { sessionId })).ok, 'a new day has a fresh budget');
      const other = await agentWith({ budget: 100 });
      assert.ok((await begin(other)).ok, 'budgets are per agent');
    });

    it('counts every token when 40 conversations of one agent finish at once, spread over several counter rows', async () => {
      const a = await agentWith({ budget: 2460 });
      const started = await Promise.all(Array.from({ length: 40 }, () => begin(a)));
      const turns = started.map((r) => {
        assert.ok(r.ok, 'turn accepted');
        return r;
      });
      // turn i bills (i + 1) prompt and 2 (i + 1) completion tokens: 3 × (1 + … + 40) = 2460 in all
      await Promise.all(
        turns.map((r, i) =>
          store.endTurn({
            conversationId: r.conversationId,
            userMessageId: r.userMessageId,
            content: 'reply',
            promptTokens: i + 1,
            completionTokens: 2 * (i + 1),
            responseTimeMs: 10,
          }),
        ),
      );
      assert.equal(await usageToday(a), '2460', 'no increment is lost');
      const { rows } = await db.query<{ shards: number }>(
        'select count(*)::int as shards from public.agent_token_usage where agent_id = $1',
        [a.agentId],
      );
      const { shards } = rows[0]!;
      assert.ok(shards > 1 && shards <= 16, `concurrent turns spread over several rows (${shards} used)`);
      const daily = await db.query<{ tokens: string }>(
        'select tokens::text from public.agent_daily_token_usage where agent_id = $1',
        [a.agentId],
      );
      assert.deepEqual(daily.rows, [{ tokens: '2460' }], 'the per-day view sums the shards');
      const r = refused(await begin(a, { content: 'over budget' }));
      assert.match(r.message ?? '', /daily budget/, 'the budget check sums the shards too');
    });

    it('accepts exactly the limit when turns of one session arrive at once', async () => {
      const a = await agentWith();
      const sessionId = session();
      await roomInMinute(25);
      const first = await Promise.all(Array.from({ length: 20 }, (_, i) => begin(a, { sessionId, content: `m${i}` })));
      assert.equal(first.filter((r) => r.ok).length, 20, '20 parallel turns with a limit of 20: all accepted');
      const more = await Promise.all(Array.from({ length: 10 }, (_, i) => begin(a, { sessionId, content: `x${i}` })));
      assert.equal(more.filter((r) => r.ok).length, 0, 'the next 10 are refused');
      assert.equal(await userMessages(a, sessionId), 20);
    });

    it('accepts exactly the limit when many sessions from one IP start at once', async () => {
      const a = await agentWith({ ip: 20 });
      await roomInMinute(25);
      const results = await Promise.all(Array.from({ length: 30 }, () => begin(a, { clientIp: '2001:db8::1' })));
      assert.equal(results.filter((r) => r.ok).length, 20);
      assert.equal(results.filter((r) => !r.ok && r.code === 'rate_limited').length, 10);
      const { rows } = await db.query<{ n: number }>(
        "select count(*)::int as n from public.messages m join public.conversations c on c.id = m.conversation_id where c.agent_id = $1",
        [a.agentId],
      );
      assert.equal(rows[0]?.n, 20, 'only accepted turns are stored');
    });

    it('returns the origin allowlist with the agent, and rejects malformed entries', async () => {
      const origins = ['https://shop.example.com', 'https://*.example.org', 'http://localhost:5173', 'http://[::1]:8080'];
      const a = await agentWith({ origins });
      assert.deepEqual((await store.agentByKey(a.apiKey))?.allowed_origins, origins);
      const any = await agentWith();
      assert.equal((await store.agentByKey(any.apiKey))?.allowed_origins, null);
      for (const ok of [[], ['*'], ['null'], ['HTTPS://Shop.Example.com/'], ['chrome-extension://abcdef']]) {
        await db.query('update public.agents set allowed_origins = $2 where id = $1', [any.agentId, ok]);
      }
      for (const bad of [
        ['https://shop.example.com/path'],
        ['shop.example.com'],
        [' https://shop.example.com'],
        ['https://shop.example.com', null],
        [''],
        ['https://*'],
        ['https://a.*.example.com'],
        ['https://user@shop.example.com'],
        ['https://a.example.com\nhttps://b.example.com'],
      ]) {
        await assert.rejects(
          db.query('update public.agents set allowed_origins = $2 where id = $1', [any.agentId, bad]),
          /agents_allowed_origins_check/,
          JSON.stringify(bad),
        );
      }
    });

    it('rejects negative limits and a budget of zero', async () => {
      const a = await agentWith();
      for (const [column, value, constraint] of [
        ['rate_limit_session_per_minute', -1, 'agents_rate_limit_session_per_minute_check'],
        ['rate_limit_ip_per_minute', -1, 'agents_rate_limit_ip_per_minute_check'],
        ['daily_token_budget', 0, 'agents_daily_token_budget_check'],
      ] as const) {
        await assert.rejects(db.query(`update public.agents set ${column} = $2 where id = $1`, [a.agentId, value]), new RegExp(constraint));
      }
    });

    /** Runs begin_turn in one transaction after seeding random() so that a 1-in-500 draw would hit or miss. */
    const beginWithDraw = (a: SeededAgent, hit: boolean) =>
      db.transaction(async (tx) => {
        await tx.exec(`do $$
          declare s float8;
          begin
            for i in 1..200000 loop
              s := i / 200001.0;
              perform setseed(s);
              if (random() < 0.002) = ${hit} then
                perform set_config('mac_test.seed', s::text, true);
                return;
              end if;
            end loop;
          end $$;`);
        await tx.query("select setseed(current_setting('mac_test.seed')::float8)");
        await tx.query("select public.begin_turn($1, null, null, $2, null, '{}'::jsonb, 'hi', 20, 24000)", [a.apiKey, session()]);
      });

    it('never prunes rate-limit rows or token usage inside a visitor turn, whatever random() draws', async () => {
      const a = await agentWith();
      await db.query(
        `insert into public.rate_limits (bucket, window_start, hits)
         select 's:stale:' || g, now() - interval '2 hours', 5 from generate_series(1, 1000) g`,
      );
      const stale = async () =>
        (await db.query<{ n: number }>("select count(*)::int as n from public.rate_limits where bucket like 's:stale:%'")).rows[0]?.n;
      await beginWithDraw(a, false);
      await beginWithDraw(a, true);
      assert.equal(await stale(), 1000, 'maintenance is scheduled work, never part of a turn (00004)');
    });

    it('shows owners their own agents’ token usage only, and nobody but the proxy the rate-limit counters', async () => {
      const a = await agentWith();
      const b = await agentWith();
      await db.query(
        `insert into public.agent_token_usage (agent_id, day, shard, tokens)
         values ($1, current_date, 0, 11), ($1, current_date, 3, 4), ($2, current_date, 0, 22)`,
        [a.agentId, b.agentId],
      );
      const asRole = (role: 'anon' | 'authenticated', sql: string) =>
        db
          .transaction(async (tx) => {
            await tx.query("select set_config('request.jwt.claims', $1, true)", [JSON.stringify({ sub: a.ownerId, role })]);
            await tx.exec(`set local role ${role}`);
            const { rows } = await tx.query(sql);
            throw Object.assign(new Error('rollback'), { rows });
          })
          .catch((err: Error & { rows?: unknown[] }) => {
            if (err.rows) return err.rows;
            throw err;
          });
      assert.deepEqual(await asRole('authenticated', 'select agent_id, tokens::int from public.agent_token_usage order by shard'), [
        { agent_id: a.agentId, tokens: 11 },
        { agent_id: a.agentId, tokens: 4 },
      ]);
      assert.deepEqual(
        await asRole('authenticated', 'select agent_id, day = current_date as today, tokens::int from public.agent_daily_token_usage'),
        [{ agent_id: a.agentId, today: true, tokens: 15 }],
        'per-day totals of their own agents',
      );
      await assert.rejects(asRole('authenticated', 'update public.agent_token_usage set tokens = 0'), /permission denied/);
      await assert.rejects(asRole('anon', 'select * from public.agent_token_usage'), /permission denied/);
      await assert.rejects(asRole('anon', 'select * from public.agent_daily_token_usage'), /permission denied/);
      for (const role of ['anon', 'authenticated'] as const) {
        await assert.rejects(asRole(role, 'select * from public.rate_limits'), /permission denied/);
        await assert.rejects(asRole(role, "select public.hit_rate_limit('x', 1)"), /permission denied for function/);
      }
    });
  });
}

abuseSuite('abuse limits on PGlite', migratedPgliteDb);

abuseSuite(
  'abuse limits on PostgreSQL',
  () => migratedTestDatabase({ max: 20 }),
  pgSkipReason,
);
