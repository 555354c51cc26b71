/**
 * `mistral-agent-chat serve` as a real process: PGlite or a fresh PostgreSQL database, the Mistral
 * stand-in or the offline demo, graceful SIGTERM, and a database that is down at start.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createParser } from 'eventsource-parser';
import pg from 'pg';
import { openDb } from '../../src/server/db/open.ts';
import { createStaticApp } from '../../src/server/node/static.ts';
import { startMistralStandIn, type MistralStandIn } from '../helpers/mistral-stand-in.ts';
import { adminUrl, createTestDatabase, pgSkip, type TestDatabase } from '../helpers/pg.ts';

const BIN = fileURLToPath(new URL('../helpers/cli-from-source.js', import.meta.url));
const KEY = /^mac_[A-Za-z0-9_-]{43}$/;
const START_TIMEOUT = 90_000;

interface LogLine {
  level: string;
  msg: string;
  [field: string]: unknown;
}

interface ServerProcess {
  url: string;
  demoKey: string | null;
  listening: LogLine;
  logs: LogLine[];
  proc: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<void>;
}

const running = new Set<ServerProcess>();

/** Starts `mistral-agent-chat serve [args]` (from source) on a free port and waits for its "listening" line. */
function startServerProcess(extraEnv: Record<string, string>, args: string[] = []): Promise<ServerProcess> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) {
    if (/^(DATABASE_URL|DATA_DIR|SUPABASE_|MISTRAL_|PORT$|HOST$|PUBLIC_URL$|SHUTDOWN_GRACE_MS$|DEMO_MODE$|LOG_FORMAT$|TRUST_PROXY$)/.test(k)) delete env[k];
  }
  const proc = spawn(process.execPath, [BIN, 'serve', ...args], { env: { ...env, PORT: '0', LOG_FORMAT: 'json', ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: LogLine[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${logs.map((l) => JSON.stringify(l)).join('\n')}`)), START_TIMEOUT);
    const onLine = (line: string) => {
      if (!line.startsWith('{')) return;
      const entry = JSON.parse(line) as LogLine;
      logs.push(entry);
      if (entry.msg === 'mistral-agent-chat is listening') {
        clearTimeout(timer);
        const server: ServerProcess = {
          url: `http://127.0.0.1:${entry.port as number}`,
          demoKey: (entry.demo_key as string | null) ?? null,
          listening: entry,
          logs,
          proc,
          exited,
          async stop() {
            running.delete(server);
            if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
            await exited;
          },
        };
        running.add(server);
        resolve(server);
      }
    };
    for (const stream of [proc.stdout!, proc.stderr!]) {
      let buffered = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        buffered += chunk;
        const lines = buffered.split('\n');
        buffered = lines.pop()!;
        lines.forEach(onLine);
      });
    }
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening:\n${logs.map((l) => JSON.stringify(l)).join('\n')}`));
    });
  });
}

after(async () => {
  for (const server of running) await server.stop();
});

/** Polls `check` until it holds or 5 s pass; resolves to its last answer. */
async function eventually(check: () => boolean): Promise<boolean> {
  for (let i = 0; i < 100 && !check(); i++) await new Promise((r) => setTimeout(r, 50));
  return check();
}

interface SseEvent {
  event: string;
  data: Record<string, unknown>;
}

/** Sends one chat message and collects the SSE events; `onEvent` may stop reading early by returning true. */
async function chat(
  server: ServerProcess,
  sessionId: string,
  message: string,
  onEvent: (e: SseEvent) => boolean | void = () => {},
): Promise<{ status: number; events: SseEvent[] }> {
  const res = await fetch(`${server.url}/v1/chat`, {
    method: 'POST',
    headers: { 'X-Api-Key': server.demoKey!, 'Content-Type': 'application/json', Origin: 'https://shop.example.test' },
    body: JSON.stringify({ session_id: sessionId, message }),
  });
  const events: SseEvent[] = [];
  if (res.status !== 200) return { status: res.status, events };
  let stop = false;
  const parser = createParser({
    onEvent: (e) => {
      const ev = { event: e.event ?? 'message', data: JSON.parse(e.data) as Record<string, unknown> };
      events.push(ev);
      if (onEvent(ev)) stop = true;
    },
  });
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  while (!stop) {
    const { done, value } = await reader.read();
    if (done) break;
    parser.feed(value);
  }
  if (stop) void reader.cancel().catch(() => {});
  return { status: res.status, events };
}

async function history(server: ServerProcess, sessionId: string) {
  const res = await fetch(`${server.url}/v1/sessions/${sessionId}/messages`, { headers: { 'X-Api-Key': server.demoKey! } });
  assert.equal(res.status, 200);
  return ((await res.json()) as { messages: { role: string; content: string }[] }).messages;
}

/** The behaviour every storage shares: health, demo page, a streamed turn stored in the history. */
async function servesTheBasics(server: ServerProcess, standIn: MistralStandIn | null) {
  assert.match(server.demoKey ?? '', KEY, 'the banner announces the demo key');

  const health = await fetch(`${server.url}/healthz`);
  assert.equal(health.status, 200);
  assert.deepEqual(await health.json(), { ok: true });

  const page = await fetch(`${server.url}/`);
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
  const html = await page.text();
  assert.ok(html.includes(server.demoKey!), 'the demo page carries the demo key');
  assert.ok(!html.includes('__DEMO_KEY__'));

  const before = standIn?.requests.length ?? 0;
  const { status, events } = await chat(server, 'server-test-session-1', 'What are your opening hours?');
  assert.equal(status, 200);
  assert.deepEqual(
    [events[0]?.event, events.at(-1)?.event],
    ['start', 'done'],
    JSON.stringify(events),
  );
  const deltas = events.filter((e) => e.event === 'delta').map((e) => e.data.text as string);
  assert.ok(deltas.length > 0, 'the reply streams in deltas');
  const reply = deltas.join('');
  if (standIn) {
    assert.equal(standIn.requests.length, before + 1, 'one call to Mistral');
    assert.equal(standIn.requests.at(-1)!.headers.authorization, 'Bearer test');
    assert.equal(reply, 'Echo: What are your opening hours?');
  } else {
    assert.match(reply, /Offline demo model/);
  }

  const messages = await history(server, 'server-test-session-1');
  assert.deepEqual(
    messages.map((m) => [m.role, m.content]),
    [
      ['user', 'What are your opening hours?'],
      ['assistant', reply],
    ],
  );
}

/** SIGTERM with a reply still streaming: exit 0 within the grace period, partial reply stored. */
async function stopsGracefully(server: ServerProcess, standIn: MistralStandIn, graceMs: number) {
  standIn.script({ type: 'stall', afterChunks: 3, text: 'The first words arrive, then Mistral goes quiet for a long time.' });
  const seen: SseEvent[] = [];
  let firstDelta!: () => void;
  const gotDelta = new Promise<void>((resolve) => (firstDelta = resolve));
  const turn = chat(server, 'server-test-session-2', 'Tell me a long story', (e) => {
    seen.push(e);
    if (e.event === 'delta') firstDelta();
  });
  await gotDelta;
  const partial = seen.filter((e) => e.event === 'delta').map((e) => e.data.text as string).join('');
  assert.ok(partial.length > 0);

  const signalledAt = Date.now();
  server.proc.kill('SIGTERM');
  const { code } = await server.exited;
  const took = Date.now() - signalledAt;
  assert.equal(code, 0, server.logs.map((l) => JSON.stringify(l)).join('\n'));
  assert.ok(took < graceMs + 4_000, `exited after ${took} ms (grace ${graceMs} ms)`);
  assert.ok(took >= graceMs - 100, `the open stream was given its grace period (${took} ms)`);
  const { events } = await turn;
  assert.notEqual(events.at(-1)?.event, 'delta', 'the visitor is told the reply ended');
  return partial;
}

describe('serve with the Mistral stand-in on embedded PGlite', () => {
  let standIn: MistralStandIn;
  let server: ServerProcess;
  let dir: string;
  const graceMs = 1_500;

  before(async () => {
    standIn = await startMistralStandIn();
    dir = await mkdtemp(join(tmpdir(), 'mac-serve-'));
    server = await startServerProcess({
      DATA_DIR: join(dir, 'data'),
      MISTRAL_API_KEY: 'test',
      MISTRAL_BASE_URL: standIn.url,
      SHUTDOWN_GRACE_MS: String(graceMs),
    });
  });
  after(async () => {
    await server?.stop();
    await standIn?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('runs in demo mode on the embedded database: creates a demo agent on first run, announces Mistral as the model', { timeout: START_TIMEOUT }, async () => {
    assert.equal(server.listening.mode, 'demo');
    assert.equal(server.listening.upstream, 'mistral');
    assert.equal(server.listening.database, 'pglite');
    assert.ok(await eventually(() => server.logs.some((l) => l.msg === 'created a demo agent on this empty database' && l.api_key === server.demoKey)));
  });

  it('answers /healthz, serves the demo page with its key and streams a stored chat turn', { timeout: 30_000 }, async () => {
    await servesTheBasics(server, standIn);
  });

  it('serves the widget bundle to any site, or says how to build it', { timeout: 30_000 }, async () => {
    const res = await fetch(`${server.url}/widget.js`, { headers: { Origin: 'https://shop.example.test' } });
    assert.match(res.headers.get('content-type') ?? '', /^text\/javascript/);
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    const body = await res.text();
    if (res.status === 503) assert.match(body, /npm run build/);
    else {
      assert.equal(res.status, 200);
      assert.match(res.headers.get('cache-control') ?? '', /max-age=300/);
      assert.ok(body.length > 1000, 'the bundle itself');
      const br = await fetch(`${server.url}/widget.js`, { headers: { 'Accept-Encoding': 'br' } });
      assert.equal(br.headers.get('content-encoding'), 'br', 'the build made a brotli copy, sent as it is');
      assert.equal(await br.text(), body);
    }
    const chunk = await fetch(`${server.url}/mac-does-not-exist.js`);
    assert.equal(chunk.status, 503, 'a missing lazy chunk also explains itself');
    assert.match(await chunk.text(), /npm run build/);
  });

  it('keeps the CLI off its embedded database while running, with a clear message', { timeout: 30_000 }, async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: join(dir, 'data') };
    delete env.DATABASE_URL;
    const run = await new Promise<{ code: number; stderr: string }>((resolve) =>
      execFile(process.execPath, [BIN, 'agent', 'list'], { env }, (err, _out, stderr) =>
        resolve({ code: err ? Number(err.code) : 0, stderr }),
      ),
    );
    assert.equal(run.code, 1);
    assert.match(run.stderr, new RegExp(`in use by the mistral-agent-chat server \\(pid ${server.proc.pid}\\)`));
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200, 'the server is unaffected');
  });

  it('answers unknown paths with the protocol JSON 404, not a page', { timeout: 30_000 }, async () => {
    const res = await fetch(`${server.url}/v1/nope`);
    assert.equal(res.status, 404);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'not_found');
  });

  it('exits 0 on SIGTERM within the grace period and keeps the partial reply', { timeout: 60_000 }, async () => {
    const partial = await stopsGracefully(server, standIn, graceMs);
    const db = await openDb({ dataDir: join(dir, 'data') });
    try {
      const { rows } = await db.query<{ role: string; content: string }>(
        `select m.role, m.content from public.messages m join public.conversations c on c.id = m.conversation_id
         where c.session_id = 'server-test-session-2' order by m.created_at, m.role desc`,
      );
      assert.deepEqual(rows.map((r) => r.role), ['user', 'assistant']);
      assert.ok(rows[1]!.content.startsWith(partial), `stored "${rows[1]!.content}", relayed "${partial}"`);
    } finally {
      await db.close();
    }
  });
});

describe('serve without MISTRAL_API_KEY: the offline demo', () => {
  let server: ServerProcess;
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mac-serve-offline-'));
    server = await startServerProcess({ DATA_DIR: join(dir, 'data') });
  });
  after(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('says loudly that replies come from the offline demo model', { timeout: START_TIMEOUT }, async () => {
    assert.equal(server.listening.upstream, 'OFFLINE DEMO');
    // stderr (warnings) and stdout (the listening line) arrive in either order
    assert.ok(await eventually(() => server.logs.some((l) => l.level === 'warn' && /OFFLINE DEMO/.test(l.msg))));
  });

  it('answers /healthz, serves the demo page with its key and streams a stored offline reply', { timeout: 30_000 }, async () => {
    await servesTheBasics(server, null);
  });

  it('exits 0 on SIGTERM when idle', { timeout: 30_000 }, async () => {
    server.proc.kill('SIGTERM');
    assert.equal((await server.exited).code, 0);
  });
});

describe('serve on a fresh PostgreSQL database (DATABASE_URL): production mode', { skip: await pgSkip() }, () => {
  let database: TestDatabase;
  let server: ServerProcess;

  before(async () => {
    database = await createTestDatabase();
    server = await startServerProcess({ DATABASE_URL: database.url });
  });
  after(async () => {
    await server?.stop();
    await database?.drop();
  });

  const query = async (sql: string, params: unknown[] = []) => {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      return (await client.query(sql, params)).rows;
    } finally {
      await client.end();
    }
  };

  it("migrates, and creates nothing in the owner's database: no user, no agent", { timeout: START_TIMEOUT }, async () => {
    assert.equal(server.listening.mode, 'production');
    assert.equal(server.listening.database, 'postgres');
    assert.equal(server.demoKey, null);
    assert.ok((await query('select version from supabase_migrations.schema_migrations')).length >= 5);
    assert.deepEqual(await query('select count(*)::int as n from auth.users'), [{ n: 0 }]);
    assert.deepEqual(await query('select count(*)::int as n from public.agents'), [{ n: 0 }]);
    assert.ok(!server.logs.some((l) => /demo agent/.test(l.msg)));
  });

  it('shows no widget key at / or on any demo page, even once agents exist', { timeout: 30_000 }, async () => {
    const owner = await query("insert into auth.users (email) values ('owner@example.test') returning id");
    const [agent] = await query("insert into public.agents (user_id, name, api_key) values ($1, 'Live agent', $2) returning api_key", [
      owner[0].id,
      'mac_' + 'L'.repeat(43),
    ]);
    for (const path of ['/', '/index.html', '/inline.html', '/themes.html', '/iife.html']) {
      const res = await fetch(`${server.url}${path}`);
      const html = await res.text();
      assert.ok(!html.includes(agent.api_key), `${path} leaks the agent's key`);
      assert.doesNotMatch(html, /mac_[A-Za-z0-9_-]{43}/, path);
    }
  });

  it('answers chats 503 unavailable without MISTRAL_API_KEY, stores nothing, and says why in the log', { timeout: 30_000 }, async () => {
    assert.equal(server.listening.upstream, 'none (MISTRAL_API_KEY unset: chats answer 503)');
    assert.ok(await eventually(() => server.logs.some((l) => l.level === 'error' && /MISTRAL_API_KEY is not set: chat requests will answer 503/.test(l.msg))));
    const res = await fetch(`${server.url}/v1/chat`, {
      method: 'POST',
      headers: { 'X-Api-Key': 'mac_' + 'L'.repeat(43), 'Content-Type': 'application/json' },
      body: JSON.stringify({ session_id: 'server-test-production', message: 'hello?' }),
    });
    assert.equal(res.status, 503);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'unavailable');
    assert.deepEqual(await query('select count(*)::int as n from public.messages'), [{ n: 0 }]);
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200, 'healthy all the same: the database answers');
  });
});

describe('serve --demo on a fresh PostgreSQL database', { skip: await pgSkip() }, () => {
  let standIn: MistralStandIn;
  let database: TestDatabase;
  let server: ServerProcess;
  const graceMs = 1_000;

  before(async () => {
    standIn = await startMistralStandIn();
    database = await createTestDatabase();
    server = await startServerProcess(
      { DATABASE_URL: database.url, MISTRAL_API_KEY: 'test', MISTRAL_BASE_URL: standIn.url, SHUTDOWN_GRACE_MS: String(graceMs) },
      ['--demo'],
    );
  });
  after(async () => {
    await server?.stop();
    await standIn?.close();
    await database?.drop();
  });

  it('applies the migrations and creates the demo agent, because it was asked to', { timeout: START_TIMEOUT }, async () => {
    assert.equal(server.listening.database, 'postgres');
    assert.equal(server.listening.mode, 'demo');
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      const versions = await client.query('select version from supabase_migrations.schema_migrations order by version');
      assert.ok(versions.rows.length >= 2);
      assert.equal(versions.rows[0].version, '00001');
      const agents = await client.query('select name, api_key from public.agents');
      assert.deepEqual(agents.rows, [{ name: 'Demo assistant', api_key: server.demoKey }]);
    } finally {
      await client.end();
    }
  });

  it('answers /healthz, serves the demo page with its key and streams a stored chat turn', { timeout: 30_000 }, async () => {
    await servesTheBasics(server, standIn);
  });

  it('exits 0 on SIGTERM within the grace period and keeps the partial reply', { timeout: 60_000 }, async () => {
    const partial = await stopsGracefully(server, standIn, graceMs);
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      const { rows } = await client.query(
        `select m.role, m.content from public.messages m join public.conversations c on c.id = m.conversation_id
         where c.session_id = 'server-test-session-2' order by m.created_at, m.role desc`,
      );
      assert.deepEqual(rows.map((r) => r.role), ['user', 'assistant']);
      assert.ok((rows[1].content as string).startsWith(partial));
    } finally {
      await client.end();
    }
  });
});

const pgSkipReason = await pgSkip();

describe('serve when the database is down at start', () => {
  it('starts anyway: /healthz and chats answer 503 while the database is unreachable', { timeout: START_TIMEOUT }, async () => {
    const server = await startServerProcess({ DATABASE_URL: 'postgres://postgres@127.0.0.1:1/x' });
    try {
      assert.match(String(server.listening.database), /unreachable/);
      assert.ok(server.logs.some((l) => l.level === 'error' && /database unreachable/.test(l.msg)));
      const health = await fetch(`${server.url}/healthz`);
      assert.equal(health.status, 503);
      const chatRes = await fetch(`${server.url}/v1/chat`, {
        method: 'POST',
        headers: { 'X-Api-Key': 'mac_' + 'a'.repeat(43), 'Content-Type': 'application/json' },
        body: JSON.stringify({ session_id: 'server-test-session-3', message: 'hello?' }),
      });
      assert.equal(chatRes.status, 503);
      assert.equal(((await chatRes.json()) as { error: { code: string } }).error.code, 'unavailable');
      const page = await fetch(`${server.url}/`);
      assert.equal(page.status, 200, 'the demo page still renders');
      server.proc.kill('SIGTERM');
      assert.equal((await server.exited).code, 0, 'and it still stops cleanly');
    } finally {
      await server.stop();
    }
  });

  it('recovers by itself when the database comes back', { timeout: START_TIMEOUT, skip: pgSkipReason }, async () => {
    const database = await createTestDatabase();
    // A port where nothing listens yet; later a TCP pipe to the real PostgreSQL "brings the database back".
    const port = await freePort();
    const url = new URL(database.url);
    url.host = `127.0.0.1:${port}`;
    // DEMO_MODE=1: the environment's way to ask for `serve --demo`
    const server = await startServerProcess({ DATABASE_URL: url.toString(), MISTRAL_API_KEY: 'test', MISTRAL_BASE_URL: 'http://127.0.0.1:9', DEMO_MODE: '1' });
    let pipe: Server | undefined;
    try {
      assert.equal((await fetch(`${server.url}/healthz`)).status, 503);
      pipe = await tcpPipe(port, new URL(adminUrl));
      const deadline = Date.now() + 30_000;
      let status = 0;
      while (Date.now() < deadline) {
        status = (await fetch(`${server.url}/healthz`)).status;
        if (status === 200) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      assert.equal(status, 200, 'healthy once the database answers');
      const html = await (await fetch(`${server.url}/`)).text();
      assert.match(html, /mac_[A-Za-z0-9_-]{43}/, 'migrated and seeded in the background: the demo page has a key');
      assert.ok(server.logs.some((l) => /database reachable again/.test(l.msg)));
    } finally {
      await server.stop();
      await closePipe(pipe);
      await database.drop();
    }
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

const pipeSockets = new WeakMap<Server, Set<Socket>>();

/** A plain TCP forwarder from 127.0.0.1:port to the PostgreSQL server of `target`. */
function tcpPipe(port: number, target: URL): Promise<Server> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(Number(target.port || 5432), target.hostname);
    sockets.add(client).add(upstream);
    client.pipe(upstream).pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  pipeSockets.set(server, sockets);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

async function closePipe(server: Server | undefined): Promise<void> {
  if (!server) return;
  for (const s of pipeSockets.get(server) ?? []) s.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

describe('widget bundle, console and demo pages (in-process, with a built dist/ stand-in)', () => {
  let dir: string;
  let app: ReturnType<typeof createStaticApp>;
  let prod: ReturnType<typeof createStaticApp>;
  const key = 'mac_' + 'k'.repeat(43);
  const bundle = `export const widget = ${JSON.stringify('x'.repeat(4000))};\nimport('./mac-markdown-AbC123.js');\n`;
  const consolePage = '<!doctype html><script type="module" src="assets/index-Bx7Yq2Lm.js"></script><mistral-agent-console></mistral-agent-console>';
  const consoleScript = `export const console = ${JSON.stringify('c'.repeat(4000))};\n`;

  /** As scripts/build.js leaves a served file: with its .br and .gz beside it. */
  async function writePrecompressed(path: string, content: string) {
    await writeFile(path, content);
    await writeFile(`${path}.br`, brotliCompressSync(content));
    await writeFile(`${path}.gz`, gzipSync(content, { level: 9 }));
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mac-static-'));
    await mkdir(join(dir, 'dist'));
    await mkdir(join(dir, 'demo'));
    await writePrecompressed(join(dir, 'dist', 'mistral-agent-chat.js'), bundle);
    await writeFile(join(dir, 'dist', 'mistral-agent-chat.iife.js'), '(function(){})();');
    await writeFile(join(dir, 'dist', 'mac-markdown-AbC123.js'), 'export const md = 1;');
    await writeFile(
      join(dir, 'demo', 'index.html'),
      '<script type="module" src="/widget.js"></script><mistral-agent-chat api-key="__DEMO_KEY__" endpoint="__ENDPOINT__"></mistral-agent-chat>',
    );
    await writeFile(join(dir, 'demo', 'inline.html'), '<p>inline __DEMO_KEY__</p>');
    await writeFile(join(dir, 'demo', 'demo.css'), 'body { color: red }');
    const paths = { distDir: join(dir, 'dist'), demoDir: join(dir, 'demo') };
    app = createStaticApp({ demo: true, demoKey: async () => key, ...paths });
    prod = createStaticApp({ demo: false, demoKey: async () => key, publicUrl: 'https://chat.example.test', ...paths });
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('serves /widget.js as JavaScript any site may load, cached briefly, precompressed brotli or gzip', async () => {
    for (const [accept, encoding, decoded] of [
      ['gzip, deflate, br', 'br', (b: Buffer) => brotliDecompressSync(b)],
      ['gzip', 'gzip', (b: Buffer) => gunzipSync(b)],
      ['identity', null, (b: Buffer) => b],
    ] as const) {
      const res = await app.request('/widget.js', { headers: { 'Accept-Encoding': accept } });
      assert.equal(res.status, 200, accept);
      assert.equal(res.headers.get('content-type'), 'text/javascript; charset=utf-8');
      assert.equal(res.headers.get('access-control-allow-origin'), '*');
      assert.equal(res.headers.get('cross-origin-resource-policy'), 'cross-origin');
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(res.headers.get('cache-control'), 'public, max-age=300');
      assert.equal(res.headers.get('content-encoding'), encoding, accept);
      assert.match(res.headers.get('vary') ?? '', /accept-encoding/i, 'caches keep one copy per encoding');
      assert.equal(decoded(Buffer.from(await res.arrayBuffer())).toString('utf8'), bundle, accept);
    }
    const first = await app.request('/widget.js', { headers: { 'Accept-Encoding': 'br' } });
    const again = await app.request('/widget.js', { headers: { 'Accept-Encoding': 'br', 'If-None-Match': first.headers.get('etag')! } });
    assert.equal(again.status, 304, 'revalidation is cheap');
  });

  it('serves hashed lazy chunks as immutable and the IIFE build', async () => {
    const chunk = await app.request('/mac-markdown-AbC123.js');
    assert.equal(chunk.status, 200);
    assert.equal(chunk.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.equal(chunk.headers.get('access-control-allow-origin'), '*');
    assert.equal(chunk.headers.get('cross-origin-resource-policy'), 'cross-origin');
    assert.equal(await chunk.text(), 'export const md = 1;');
    const iife = await app.request('/widget.iife.js');
    assert.equal(iife.status, 200);
    assert.equal(iife.headers.get('cache-control'), 'public, max-age=300');
    assert.equal(await iife.text(), '(function(){})();');
  });

  it('never serves files outside dist/ through a chunk name', async () => {
    for (const path of ['/mac-..%2f..%2fpackage.json.js', '/mac-../../package.json', '/dist/../package.json', '/console/../../package.json', '/console/%2e%2e/%2e%2e/package.json']) {
      const res = await app.request(path);
      assert.notEqual(res.status, 200, path);
    }
  });

  it('says how to build when the console is missing, then serves it with its hashed assets', async () => {
    const redirect = await app.request('/console?lang=fr');
    assert.equal(redirect.status, 308, '/console moves under /console/ so the page\'s relative asset URLs resolve');
    assert.equal(redirect.headers.get('location'), 'console/?lang=fr');

    const missing = await app.request('/console/');
    assert.equal(missing.status, 503);
    assert.match(await missing.text(), /npm run build/);

    await mkdir(join(dir, 'dist', 'console', 'assets'), { recursive: true });
    await writePrecompressed(join(dir, 'dist', 'console', 'index.html'), consolePage);
    await writePrecompressed(join(dir, 'dist', 'console', 'assets', 'index-Bx7Yq2Lm.js'), consoleScript);
    const page = await app.request('/console/', { headers: { 'Accept-Encoding': 'gzip' } });
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    assert.equal(page.headers.get('content-encoding'), 'gzip');
    assert.equal(page.headers.get('cache-control'), 'no-cache', 'a new build is picked up at once');
    assert.equal(page.headers.get('x-frame-options'), 'DENY', 'no other site may frame the owner console');
    assert.equal(gunzipSync(Buffer.from(await page.arrayBuffer())).toString('utf8'), consolePage);

    const asset = await app.request('/console/assets/index-Bx7Yq2Lm.js', { headers: { 'Accept-Encoding': 'br' } });
    assert.equal(asset.status, 200);
    assert.equal(asset.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.equal(brotliDecompressSync(Buffer.from(await asset.arrayBuffer())).toString('utf8'), consoleScript);
    assert.equal((await app.request('/console/assets/nope-12345678.js')).status, 404);
    assert.equal((await prod.request('/console/')).status, 200, 'the console is there outside demo mode too');
  });

  it('fills the demo key and the endpoint into the demo page, uncached', async () => {
    const res = await app.request('http://demo.example.test:8787/');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.equal(
      await res.text(),
      `<script type="module" src="/widget.js"></script><mistral-agent-chat api-key="${key}" endpoint="http://demo.example.test:8787"></mistral-agent-chat>`,
    );
    const missing = await app.request('/themes.html');
    assert.equal(missing.status, 200, 'a missing demo page becomes a small placeholder');
    assert.ok((await missing.text()).includes(key));
    const css = await app.request('/demo.css');
    assert.equal(css.status, 200);
    assert.equal(await css.text(), 'body { color: red }');
  });

  it('outside demo mode serves a status page with no key at /, and no demo page', async () => {
    const res = await prod.request('/');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    const html = await res.text();
    assert.ok(!html.includes(key), 'no widget key on the status page');
    assert.doesNotMatch(html, /mac_[A-Za-z0-9_-]{43}/);
    for (const link of ['/healthz', '/widget.js', '/console']) assert.ok(html.includes(`href="${link}"`), link);
    assert.match(html, /mistral-agent-chat agent create --name "Support" --endpoint https:\/\/chat\.example\.test/);
    for (const path of ['/index.html', '/inline.html', '/themes.html', '/iife.html', '/demo.css']) {
      assert.equal((await prod.request(path)).status, 404, path);
    }
    assert.equal((await prod.request('/widget.js')).status, 200, 'the bundle is served in every mode');
  });
});
