/**
 * The one protocol suite against two real processes, each on its own fresh PostgreSQL database and its
 * own Mistral stand-in:
 *  - the Node server: `mistral-agent-chat serve` (from source: test/helpers/cli-from-source.js);
 *  - the Supabase Edge Function under Deno: `deno run` of supabase/functions/mistral-agent-chat/index.ts
 *    with the local import map (mistral-agent-chat/server → this repo's src/server/index.ts).
 * Also measures the Deno function's cold start (spawn → first 200 from /healthz) and prints it.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { EventSourceParserStream } from 'eventsource-parser/stream';
import type { Db } from '../../src/server/db/db.ts';
import { migrate } from '../../src/server/db/migrate.ts';
import { openPostgres } from '../../src/server/db/postgres.ts';
import { startMistralStandIn } from '../helpers/mistral-stand-in.ts';
import { startRpcDouble } from '../helpers/rpc-double.ts';
import { denoSkip } from '../helpers/deno.ts';
import { createTestDatabase, pgSkip } from '../helpers/pg.ts';
import { seedAgent } from '../helpers/pglite.ts';
import { newIdentitySecret } from '../helpers/user-token.ts';
import { protocolSuite, readSse, type ProtocolTarget } from './protocol.suite.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const skip = await pgSkip();
/** The Edge Function suites need Deno too. */
const skipDeno = skip || denoSkip();

/** The exact command line the Deno target runs (also documented in docs/deploy-supabase.md). */
export const DENO_ARGS = [
  'run',
  '--no-config',
  '--node-modules-dir=manual',
  '--import-map',
  'supabase/functions/mistral-agent-chat/import_map.local.json',
  '--allow-net',
  '--allow-env',
  '--allow-read',
  'supabase/functions/mistral-agent-chat/index.ts',
];

interface Started {
  child: ChildProcess;
  port: number;
  output: () => string;
}

/** Spawns a server and resolves with the port it prints (`pattern` captures it). */
function startProcess(cmd: string, args: string[], env: NodeJS.ProcessEnv, pattern: RegExp, timeoutMs = 60_000): Promise<Started> {
  const child = spawn(cmd, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cmd} did not start within ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      out += chunk.toString('utf8');
      const m = pattern.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, port: Number(m[1]), output: () => out });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${cmd} exited with ${code} before listening:\n${out}`));
    });
  });
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 8_000);
  await exited;
  clearTimeout(timer);
}

async function waitForHealthy(url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await fetch(url)).status === 200) return;
    } catch {
      // not accepting yet
    }
    if (Date.now() > deadline) throw new Error(`${url} never answered 200`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A migrated database with one agent, a stand-in requiring `Bearer test`, and the env both targets share. */
async function prepare() {
  const database = await createTestDatabase();
  const db: Db = openPostgres(database.url, { max: 2 });
  const identitySecret = newIdentitySecret();
  const otherIdentitySecret = newIdentitySecret();
  let agent;
  let groundedAgent;
  try {
    await migrate(db);
    agent = await seedAgent(db, { name: 'Protocol agent', role: 'support' });
    groundedAgent = await seedAgent(db, { name: 'Grounded agent', instructions: 'LOCAL INSTRUCTIONS NEVER SENT' });
    await db.query(`update public.agents set mistral_agent_id = 'ag_protocol_docs' where id = $1`, [groundedAgent.agentId]);
    await db.query('update public.agents set identity_secret = $2 where id = $1', [agent.agentId, identitySecret]);
    await db.query('update public.agents set identity_secret = $2 where id = $1', [groundedAgent.agentId, otherIdentitySecret]);
  } finally {
    await db.close();
  }
  const standIn = await startMistralStandIn({ apiKey: 'test' });
  // Only what we choose: nothing from the developer's shell (SUPABASE_*, a real MISTRAL_API_KEY) leaks in.
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    DATABASE_URL: database.url,
    MISTRAL_API_KEY: 'test',
    MISTRAL_BASE_URL: standIn.url,
    UPSTREAM_RETRIES: '0',
    SHUTDOWN_GRACE_MS: '500',
  };
  if (process.env.DENO_DIR) env.DENO_DIR = process.env.DENO_DIR;
  const cleanup = async (child?: ChildProcess) => {
    if (child) await stopProcess(child);
    await standIn.close();
    await database.drop();
  };
  return { apiKey: agent.apiKey, groundedApiKey: groundedAgent.apiKey, identitySecret, otherIdentitySecret, standIn, env, databaseUrl: database.url, cleanup };
}

protocolSuite(
  'Protocol v1 on the Node server process (real PostgreSQL)',
  async (): Promise<ProtocolTarget> => {
    const p = await prepare();
    let started: Started;
    try {
      started = await startProcess(process.execPath, ['test/helpers/cli-from-source.js', 'serve'], { ...p.env, PORT: '0' }, /"msg":"mistral-agent-chat is listening".*?"port":(\d+)/);
    } catch (err) {
      await p.cleanup();
      throw err;
    }
    const baseUrl = `http://127.0.0.1:${started.port}`;
    await waitForHealthy(`${baseUrl}/healthz`);
    return { baseUrl, apiKey: p.apiKey, groundedApiKey: p.groundedApiKey, identitySecret: p.identitySecret, otherIdentitySecret: p.otherIdentitySecret, standIn: p.standIn, close: () => p.cleanup(started.child) };
  },
  { skip },
);

protocolSuite(
  'Protocol v1 on the Supabase Edge Function under Deno (real PostgreSQL via DATABASE_URL)',
  async (): Promise<ProtocolTarget> => {
    const p = await prepare();
    const t0 = performance.now();
    let started: Started;
    try {
      started = await startProcess(
        `${root}node_modules/.bin/deno`,
        DENO_ARGS,
        { ...p.env, DENO_SERVE_ADDRESS: 'tcp:127.0.0.1:0', NO_COLOR: '1' },
        /Listening on http:\/\/127\.0\.0\.1:(\d+)\//,
      );
    } catch (err) {
      await p.cleanup();
      throw err;
    }
    // Supabase passes the function name as the first path segment: basePath handles it.
    const baseUrl = `http://127.0.0.1:${started.port}/mistral-agent-chat`;
    await waitForHealthy(`${baseUrl}/healthz`);
    const coldStartMs = Math.round(performance.now() - t0);
    console.log(`Deno Edge Function cold start: ${coldStartMs} ms (process spawn → first 200 from /healthz)`);
    return { baseUrl, apiKey: p.apiKey, groundedApiKey: p.groundedApiKey, identitySecret: p.identitySecret, otherIdentitySecret: p.otherIdentitySecret, standIn: p.standIn, close: () => p.cleanup(started.child) };
  },
  { skip: skipDeno },
);

protocolSuite(
  'Protocol v1 on the Supabase Edge Function under Deno, as deployed: supabase-js → PostgREST RPC double → real PostgreSQL',
  async (): Promise<ProtocolTarget> => {
    const p = await prepare();
    const db = openPostgres(p.databaseUrl, { max: 4 });
    const rest = await startRpcDouble({ db });
    const release = async (child?: ChildProcess) => {
      if (child) await stopProcess(child);
      await rest.close();
      await db.close();
      await p.cleanup();
    };
    // What Supabase sets in an Edge Function (SUPABASE_DB_URL too): the runtime must pick supabase-js.
    const { DATABASE_URL: _unset, ...env } = p.env;
    let started: Started;
    try {
      started = await startProcess(
        `${root}node_modules/.bin/deno`,
        DENO_ARGS,
        {
          ...env,
          SUPABASE_URL: rest.url,
          SUPABASE_SECRET_KEYS: JSON.stringify({ default: rest.serviceKey }),
          SUPABASE_DB_URL: 'postgres://postgres@127.0.0.1:1/unused',
          DENO_SERVE_ADDRESS: 'tcp:127.0.0.1:0',
          NO_COLOR: '1',
        },
        /Listening on http:\/\/127\.0\.0\.1:(\d+)\//,
      );
    } catch (err) {
      await release();
      throw err;
    }
    const baseUrl = `http://127.0.0.1:${started.port}/mistral-agent-chat`;
    await waitForHealthy(`${baseUrl}/healthz`);
    assert.match(started.output(), /storage: supabase-js/);
    return { baseUrl, apiKey: p.apiKey, groundedApiKey: p.groundedApiKey, identitySecret: p.identitySecret, otherIdentitySecret: p.otherIdentitySecret, standIn: p.standIn, close: () => release(started.child) };
  },
  { skip: skipDeno },
);

describe('The Supabase Edge Function without MISTRAL_API_KEY', { skip: skipDeno }, () => {
  let p: Awaited<ReturnType<typeof prepare>>;
  let started: Started;
  let baseUrl: string;
  before(async () => {
    p = await prepare();
    const { MISTRAL_API_KEY: _unset, ...env } = p.env;
    started = await startProcess(`${root}node_modules/.bin/deno`, DENO_ARGS, { ...env, DENO_SERVE_ADDRESS: 'tcp:127.0.0.1:0', NO_COLOR: '1' }, /Listening on http:\/\/127\.0\.0\.1:(\d+)\//);
    baseUrl = `http://127.0.0.1:${started.port}/mistral-agent-chat`;
  });
  after(() => p?.cleanup(started?.child));

  it('answers chats 503 unavailable, never an offline demo, and says why in its log', async () => {
    const res = await fetch(`${baseUrl}/v1/chat`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Api-Key': p.apiKey },
      body: JSON.stringify({ session_id: 'sess_no_model_1', message: 'hello?' }),
    });
    assert.equal(res.status, 503);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'unavailable');
    assert.equal(p.standIn.requests.length, 0);
    assert.match(started.output(), /MISTRAL_API_KEY is not set/);
  });

  it('still shows the agent, so the widget can render and explain', async () => {
    const res = await fetch(`${baseUrl}/v1/agent`, { headers: { 'X-Api-Key': p.apiKey } });
    assert.equal(res.status, 200);
  });
});

describe("The Supabase Edge Function's client address: the gateway's header, never X-Forwarded-For", { skip }, () => {
  let p: Awaited<ReturnType<typeof prepare>>;
  let started: Started;
  let baseUrl: string;
  let db: Db;
  let rest: Awaited<ReturnType<typeof startRpcDouble>>;
  before(async () => {
    p = await prepare();
    db = openPostgres(p.databaseUrl, { max: 4 });
    await db.query("update public.agents set rate_limit_ip_per_minute = 2, rate_limit_session_per_minute = 0");
    rest = await startRpcDouble({ db });
    const { DATABASE_URL: _unset, ...env } = p.env;
    started = await startProcess(
      `${root}node_modules/.bin/deno`,
      DENO_ARGS,
      { ...env, SUPABASE_URL: rest.url, SUPABASE_SECRET_KEYS: JSON.stringify({ default: rest.serviceKey }), DENO_SERVE_ADDRESS: 'tcp:127.0.0.1:0', NO_COLOR: '1' },
      /Listening on http:\/\/127\.0\.0\.1:(\d+)\//,
    );
    baseUrl = `http://127.0.0.1:${started.port}/mistral-agent-chat`;
    await waitForHealthy(`${baseUrl}/healthz`);
  });
  after(async () => {
    if (started) await stopProcess(started.child);
    await rest?.close();
    await db?.close();
    await p?.cleanup();
  });

  const chat = async (clientIp: string, forged: string, n: number) => {
    const res = await fetch(`${baseUrl}/v1/chat`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Api-Key': p.apiKey, 'CF-Connecting-IP': clientIp, 'X-Forwarded-For': forged },
      body: JSON.stringify({ session_id: `sess_edge_ip_${n}`, message: 'hello' }),
    });
    await res.text();
    return res.status;
  };

  it('passes CF-Connecting-IP to begin_turn, so forged X-Forwarded-For values share the per-IP limit', async () => {
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push(await chat('203.0.113.50', `198.51.100.${i}`, i));
    assert.deepEqual(statuses, [200, 200, 429], 'two turns a minute from that address, whatever X-Forwarded-For says');
    const seen = rest.calls.filter((c) => c.fn === 'begin_turn').map((c) => c.args.p_client_ip);
    assert.deepEqual(seen, ['203.0.113.50', '203.0.113.50', '203.0.113.50']);
    assert.equal(await chat('203.0.113.51', '198.51.100.0', 9), 200, 'another client address is another bucket');
  });
});

describe('Two Node proxy instances on one database (stateless scale-out)', { skip }, () => {
  let p: Awaited<ReturnType<typeof prepare>>;
  const servers: Started[] = [];
  before(async () => {
    p = await prepare();
    for (let i = 0; i < 2; i++) {
      servers.push(await startProcess(process.execPath, ['test/helpers/cli-from-source.js', 'serve'], { ...p.env, PORT: '0' }, /"msg":"mistral-agent-chat is listening".*?"port":(\d+)/));
    }
  });
  after(async () => {
    for (const s of servers) await stopProcess(s.child);
    await p?.cleanup();
  });

  const turn = async (server: Started, sessionId: string, message: string) => {
    const res = await fetch(`http://127.0.0.1:${server.port}/v1/chat`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Api-Key': p.apiKey },
      body: JSON.stringify({ session_id: sessionId, message }),
    });
    assert.equal(res.status, 200);
    return readSse(res);
  };

  it('continues on instance B a conversation started on instance A', async () => {
    const sid = 'sess_scale_out_1';
    p.standIn.script([{ type: 'reply', text: 'Answer from A' }, { type: 'reply', text: 'Answer from B' }]);
    await turn(servers[0]!, sid, 'Question to A');
    const events = await turn(servers[1]!, sid, 'Question to B');
    assert.equal(events.at(-1)?.event, 'done');
    const sentByB = p.standIn.requests[1]!.body as { messages: { role: string; content: string }[] };
    assert.deepEqual(
      sentByB.messages.filter((m) => m.role !== 'system').map((m) => m.content),
      ['Question to A', 'Answer from A', 'Question to B'],
    );
    const res = await fetch(`http://127.0.0.1:${servers[0]!.port}/v1/sessions/${sid}/messages`, { headers: { 'X-Api-Key': p.apiKey } });
    const { messages } = (await res.json()) as { messages: { content: string }[] };
    assert.deepEqual(
      messages.map((m) => m.content),
      ['Question to A', 'Answer from A', 'Question to B', 'Answer from B'],
    );
  });

  it('ends a reply streamed by instance A within a second of a Stop sent to instance B, storing exactly what A relayed', async () => {
    const sid = 'sess_scale_out_stop';
    const full = 'This reply is long and slow, and it will be stopped from the other instance before it ends.';
    p.standIn.script({ type: 'reply', text: full, chunkSize: 3, chunkDelayMs: 100 });
    const res = await fetch(`http://127.0.0.1:${servers[0]!.port}/v1/chat`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Api-Key': p.apiKey },
      body: JSON.stringify({ session_id: sid, message: 'Talk slowly' }),
    });
    assert.equal(res.status, 200);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream()).getReader();
    const events: { event: string; data: Record<string, unknown> }[] = [];
    const next = async () => {
      const { done, value } = await reader.read();
      if (!done) events.push({ event: value.event ?? 'message', data: JSON.parse(value.data) as Record<string, unknown> });
      return !done;
    };
    while (events.filter((e) => e.event === 'delta').length < 3) assert.ok(await next(), 'the stream goes on');
    // B knows nothing of A's stream but the database.
    const pending = await fetch(`http://127.0.0.1:${servers[1]!.port}/v1/sessions/${sid}/messages`, { headers: { 'X-Api-Key': p.apiKey } });
    assert.equal(((await pending.json()) as { pending: boolean }).pending, true, 'B sees the reply A is producing');
    const t0 = performance.now();
    const stop = await fetch(`http://127.0.0.1:${servers[1]!.port}/v1/sessions/${sid}/stop`, { method: 'POST', headers: { 'X-Api-Key': p.apiKey } });
    assert.equal(stop.status, 204);
    while (await next());
    const elapsed = performance.now() - t0;
    console.log(`Stop through instance B ended instance A's stream after ${Math.round(elapsed)} ms`);
    assert.ok(elapsed < 1_000, `A ended the reply ${Math.round(elapsed)} ms after the Stop sent to B`);
    const done = events.at(-1)!;
    assert.deepEqual([done.event, done.data.finish_reason, done.data.stopped], ['done', 'aborted', true]);
    const shown = events.filter((e) => e.event === 'delta').map((e) => e.data.text).join('');
    assert.ok(shown.length > 0 && shown.length < full.length);
    const history = await fetch(`http://127.0.0.1:${servers[1]!.port}/v1/sessions/${sid}/messages`, { headers: { 'X-Api-Key': p.apiKey } });
    const { messages } = (await history.json()) as { messages: { role: string; content: string; stopped?: boolean }[] };
    assert.deepEqual(messages.map((m) => [m.role, m.content, m.stopped]), [['user', 'Talk slowly', undefined], ['assistant', shown, true]]);
  });
});
