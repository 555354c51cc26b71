/**
 * The real `mistral-agent-chat` bin, run as a child process, on the embedded PGlite database (DATA_DIR in a
 * temp folder) and on a fresh real PostgreSQL database. Effects are checked through the proxy app itself.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createApp } from '../../src/server/app.ts';
import { loadConfig } from '../../src/server/config.ts';
import { openDb } from '../../src/server/db/open.ts';
import { memoryLogger } from '../../src/server/log.ts';
import { SqlStore } from '../../src/server/store/sql-store.ts';
import { createOfflineDemoUpstream } from '../../src/server/upstream/offline-demo.ts';
import { createTestDatabase, pgSkip, type TestDatabase } from '../helpers/pg.ts';

const BIN = fileURLToPath(new URL('../helpers/cli-from-source.js', import.meta.url));
const KEY = /mac_[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])/;
const TIMEOUT = 60_000;

type Target = { DATABASE_URL: string } | { DATA_DIR: string };

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The process env without anything that would point the CLI elsewhere. */
function cleanEnv(target: Target): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of Object.keys(env)) {
    if (/^(DATABASE_URL|DATA_DIR|SUPABASE_|MISTRAL_|PORT$|HOST$|PUBLIC_URL$|DEMO_MODE$|LOG_FORMAT$|TRUST_PROXY$)/.test(k)) delete env[k];
  }
  return { ...env, ...target };
}

function cli(target: Target, ...args: string[]): Promise<Run> {
  return cliWith(target, {}, ...args);
}

/** The CLI with extra environment variables (PORT, PUBLIC_URL …). */
function cliWith(target: Target, extra: Record<string, string>, ...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...cleanEnv(target), ...extra }, timeout: TIMEOUT }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

async function cliJson<T>(target: Target, ...args: string[]): Promise<T> {
  const run = await cli(target, ...args, '--json');
  assert.equal(run.code, 0, `${args.join(' ')} failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}

interface AgentJson {
  id: string;
  name: string;
  api_key: string;
  temperature: number;
  max_tokens: number;
  top_p: number;
  is_active: boolean;
  owner: string;
  snippet?: string;
  identity_required?: boolean;
  has_identity_secret?: boolean;
  identity_secret?: string;
}

/** The proxy app over the same database, with a fresh agent cache: what a widget would get. */
async function withApp<T>(target: Target, fn: (request: (path: string, init?: RequestInit) => Promise<Response>) => Promise<T>): Promise<T> {
  const db = await openDb('DATABASE_URL' in target ? { databaseUrl: target.DATABASE_URL } : { dataDir: target.DATA_DIR });
  const store = new SqlStore(db);
  try {
    const { app } = createApp({
      store,
      upstream: createOfflineDemoUpstream({ chunkDelayMs: 0 }),
      config: loadConfig({}),
      log: memoryLogger(),
    });
    return await fn(async (path, init) => app.request(path, init));
  } finally {
    await store.close();
  }
}

const agentStatus = (target: Target, key: string) =>
  withApp(target, async (request) => (await request('/v1/agent', { headers: { 'X-Api-Key': key } })).status);

function cliSuite(label: string, setup: () => Promise<{ target: Target; cleanup: () => Promise<void> }>) {
  let target: Target;
  let cleanup: () => Promise<void> = async () => {};
  let agent: AgentJson;

  before(async () => {
    ({ target, cleanup } = await setup());
  });
  after(() => cleanup());

  it(`applies every migration once, then nothing on a second run (${label})`, { timeout: TIMEOUT * 2 }, async () => {
    const first = await cliJson<{ applied: string[] }>(target, 'migrate');
    assert.ok(first.applied.length >= 2, `expected the migrations to apply, got ${JSON.stringify(first)}`);
    assert.deepEqual(first.applied, [...first.applied].sort());
    const second = await cliJson<{ applied: string[] }>(target, 'migrate');
    assert.deepEqual(second.applied, []);
    const human = await cli(target, 'migrate');
    assert.equal(human.code, 0);
    assert.match(human.stdout, /up to date/);
  });

  it(`creates an agent and prints its mac_ key and a ready-to-paste snippet (${label})`, { timeout: TIMEOUT }, async () => {
    const run = await cli(target, 'agent', 'create', '--name', 'Support bot', '--instructions', 'Answer about our shop.', '--temperature', '0.4');
    assert.equal(run.code, 0, run.stderr);
    const key = KEY.exec(run.stdout)?.[0];
    assert.ok(key, `no mac_ key in:\n${run.stdout}`);
    // The embedded database is someone's computer: the local address. A real database is a deployment,
    // whose public address the CLI cannot know without PUBLIC_URL: a placeholder, said plainly.
    const endpoint = 'DATA_DIR' in target ? 'http://localhost:8787' : 'https://YOUR-PROXY-HOST';
    assert.ok(
      run.stdout.includes(
        `<script type="module" src="${endpoint}/widget.js"></script>` +
          `<mistral-agent-chat api-key="${key}" endpoint="${endpoint}"></mistral-agent-chat>`,
      ),
      run.stdout,
    );
    if ('DATA_DIR' in target) assert.match(run.stdout, /Note: This snippet points at http:\/\/localhost:8787, which only this computer reaches: .*set PUBLIC_URL/);
    else assert.match(run.stdout, /Note: PUBLIC_URL is not set, .*replace https:\/\/YOUR-PROXY-HOST with it/);
  });

  it(`points the snippet at PUBLIC_URL, or at PORT and HOST on this machine (${label})`, { timeout: TIMEOUT * 2 }, async () => {
    const pub = await cliWith(target, { PUBLIC_URL: 'https://chat.example.test/', PORT: '9999' }, 'agent', 'create', '--name', 'Public bot', '--json');
    assert.equal(pub.code, 0, pub.stderr);
    const made = JSON.parse(pub.stdout) as AgentJson & { endpoint: string; endpoint_note?: string };
    assert.equal(made.endpoint, 'https://chat.example.test');
    assert.ok(made.snippet?.includes('endpoint="https://chat.example.test"'), made.snippet);
    assert.equal(made.endpoint_note, undefined, 'nothing to warn about');
    const rotated = await cliWith(target, { PORT: '9999', HOST: '127.0.0.1' }, 'agent', 'rotate-key', made.id);
    assert.equal(rotated.code, 0, rotated.stderr);
    const expected = 'DATA_DIR' in target ? 'http://127.0.0.1:9999' : 'https://YOUR-PROXY-HOST';
    assert.ok(rotated.stdout.includes(`endpoint="${expected}"`), rotated.stdout);
    assert.match(rotated.stdout, /Note: /);
    await cli(target, 'agent', 'disable', made.id);
  });

  it(`prints parseable JSON with --json, owner and defaults included (${label})`, { timeout: TIMEOUT }, async () => {
    agent = await cliJson<AgentJson>(
      target, 'agent', 'create', '--name', 'Sales bot', '--owner', 'owner@example.test', '--max-tokens', '300',
      '--endpoint', 'https://chat.example.test',
    );
    assert.match(agent.api_key, new RegExp(`^${KEY.source}$`));
    assert.equal(agent.name, 'Sales bot');
    assert.equal(agent.owner, 'owner@example.test');
    assert.equal(agent.max_tokens, 300);
    assert.equal(agent.temperature, 0.7, 'the schema default');
    assert.equal(agent.is_active, true);
    assert.ok(agent.snippet?.includes(`api-key="${agent.api_key}" endpoint="https://chat.example.test"`), agent.snippet);
  });

  it(`lists the agents it created (${label})`, { timeout: TIMEOUT }, async () => {
    const run = await cli(target, 'agent', 'list');
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /Support bot/);
    assert.ok(run.stdout.includes(agent.api_key));
    const list = await cliJson<AgentJson[]>(target, 'agent', 'list');
    assert.deepEqual(list.map((a) => a.name), ['Support bot', 'Public bot', 'Sales bot']);
  });

  it(`changes the temperature with agent update, by id or by key (${label})`, { timeout: TIMEOUT }, async () => {
    const byId = await cliJson<AgentJson>(target, 'agent', 'update', agent.id, '--temperature', '0.2');
    assert.equal(byId.temperature, 0.2);
    assert.equal(byId.max_tokens, 300, 'other settings untouched');
    const byKey = await cliJson<AgentJson>(target, 'agent', 'update', agent.api_key, '--top-p', '0.9');
    assert.equal(byKey.top_p, 0.9);
    assert.equal(byKey.temperature, 0.2);
  });

  it(`makes, rotates and removes the identity secret with agent update, printing it once (${label})`, { timeout: TIMEOUT * 2 }, async () => {
    const made = await cliJson<AgentJson>(target, 'agent', 'update', agent.id, '--identity-secret', '--identity-required', 'true');
    assert.match(made.identity_secret ?? '', /^[A-Za-z0-9_-]{43}$/);
    assert.equal(made.has_identity_secret, true);
    assert.equal(made.identity_required, true);
    const text = await cli(target, 'agent', 'update', agent.id, '--identity-secret');
    assert.equal(text.code, 0, text.stderr);
    const rotated = /New identity secret[^\n]*\n([A-Za-z0-9_-]{43})\n/.exec(text.stdout)?.[1];
    assert.ok(rotated && rotated !== made.identity_secret, text.stdout);
    const listed = await cli(target, 'agent', 'list', '--json');
    assert.ok(!listed.stdout.includes(rotated!) && !listed.stdout.includes('"identity_secret"'), 'never shown again');
    const cleared = await cliJson<AgentJson>(target, 'agent', 'update', agent.id, '--no-identity-secret', '--identity-required', 'false');
    assert.equal(cleared.has_identity_secret, false);
    assert.equal(cleared.identity_required, false);
    assert.equal(cleared.identity_secret, undefined);
    const both = await cli(target, 'agent', 'update', agent.id, '--identity-secret', '--no-identity-secret');
    assert.equal(both.code, 2);
    assert.match(both.stderr, /contradict/);
    const bad = await cli(target, 'agent', 'update', agent.id, '--identity-required', 'yes');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--identity-required must be true or false/);
  });

  it(`refuses out-of-range settings with exit 2 naming the flag, changing nothing (${label})`, { timeout: TIMEOUT * 2 }, async () => {
    const bad = await cli(target, 'agent', 'update', agent.id, '--temperature', '1.5');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--temperature/);
    const cases: [string[], string][] = [
      [['agent', 'create', '--name', 'x', '--temperature=-0.1'], '--temperature'],
      [['agent', 'create', '--name', 'x', '--top-p', '2'], '--top-p'],
      [['agent', 'create', '--name', 'x', '--max-tokens', '0'], '--max-tokens'],
      [['agent', 'create', '--instructions', 'no name'], '--name'],
      [['agent', 'create', '--name', 'x', '--colour', 'red'], '--colour'],
      [['agent', 'create', '--name', 'x', '--allowed-origins', 'shop.example.test'], '--allowed-origins'],
      [['agent', 'create', '--name', 'x', '--daily-token-budget', '0'], '--daily-token-budget'],
    ];
    for (const [args, flag] of cases) {
      const run = await cli(target, ...args);
      assert.equal(run.code, 2, `${args.join(' ')} → ${run.code} ${run.stderr}`);
      assert.ok(run.stderr.includes(flag), `${args.join(' ')} should name ${flag}: ${run.stderr}`);
    }
    const list = await cliJson<AgentJson[]>(target, 'agent', 'list');
    assert.equal(list.length, 3, 'no agent created by a refused command');
    assert.equal(list.find((a) => a.id === agent.id)?.temperature, 0.2);
  });

  it(`rotates a key: the new key works and the old one gets 401 from the proxy (${label})`, { timeout: TIMEOUT }, async () => {
    const old = agent.api_key;
    const rotated = await cliJson<AgentJson>(target, 'agent', 'rotate-key', agent.id);
    assert.match(rotated.api_key, new RegExp(`^${KEY.source}$`));
    assert.notEqual(rotated.api_key, old);
    assert.equal(await agentStatus(target, old), 401);
    assert.equal(await agentStatus(target, rotated.api_key), 200);
    agent = rotated;
  });

  it(`disables and enables an agent: the widget gets 403 while disabled (${label})`, { timeout: TIMEOUT }, async () => {
    const off = await cliJson<AgentJson>(target, 'agent', 'disable', agent.id);
    assert.equal(off.is_active, false);
    assert.equal(await agentStatus(target, agent.api_key), 403);
    const on = await cli(target, 'agent', 'enable', agent.api_key);
    assert.equal(on.code, 0, on.stderr);
    assert.match(on.stdout, /enabled/);
    assert.equal(await agentStatus(target, agent.api_key), 200);
  });

  it(`limits the widget to the allowed origins, and lifts the limit with an empty list (${label})`, { timeout: TIMEOUT }, async () => {
    const limited = await cliJson<AgentJson & { allowed_origins: string[] | null; daily_token_budget: number | null }>(
      target, 'agent', 'update', agent.id, '--allowed-origins', 'https://shop.example.test, https://*.example.org',
      '--daily-token-budget', '50000',
    );
    assert.deepEqual(limited.allowed_origins, ['https://shop.example.test', 'https://*.example.org']);
    assert.equal(limited.daily_token_budget, 50000);
    const fromOrigin = (origin: string) =>
      withApp(target, async (request) => (await request('/v1/agent', { headers: { 'X-Api-Key': agent.api_key, Origin: origin } })).status);
    assert.equal(await fromOrigin('https://elsewhere.example.test'), 403);
    assert.equal(await fromOrigin('https://shop.example.test'), 200);
    const open = await cliJson<AgentJson & { allowed_origins: string[] | null }>(target, 'agent', 'update', agent.id, '--allowed-origins', '');
    assert.equal(open.allowed_origins, null);
    assert.equal(await fromOrigin('https://elsewhere.example.test'), 200);
  });

  it(`counts a stored chat turn in stats (${label})`, { timeout: TIMEOUT }, async () => {
    const events = await withApp(target, async (request) => {
      const res = await request('/v1/chat', {
        method: 'POST',
        headers: { 'X-Api-Key': agent.api_key, 'Content-Type': 'application/json' },
        body: JSON.stringify({ session_id: 'cli-test-session', message: 'How much is shipping?' }),
      });
      assert.equal(res.status, 200, await res.clone().text());
      return [...(await res.text()).matchAll(/^event: (\w+)$/gm)].map((m) => m[1]);
    });
    assert.equal(events[0], 'start');
    assert.equal(events.at(-1), 'done');
    const stats = await cliJson<{ agent_id: string; total_conversations: number; user_messages: number; assistant_messages: number; total_tokens_used: number }[]>(
      target, 'stats',
    );
    const row = stats.find((r) => r.agent_id === agent.id);
    assert.ok(row, JSON.stringify(stats));
    assert.equal(row.total_conversations, 1);
    assert.equal(row.user_messages, 1);
    assert.equal(row.assistant_messages, 1);
    assert.ok(row.total_tokens_used > 0);
    const human = await cli(target, 'stats');
    assert.match(human.stdout, /Sales bot/);
  });

  it(`erases one visitor's conversations with visitor erase, and stats follow (${label})`, { timeout: TIMEOUT }, async () => {
    await withApp(target, async (request) => {
      for (const [session, visitor] of [['erase-session-a', 'cli-visitor-1'], ['erase-session-b', 'cli-visitor-1'], ['erase-session-c', 'cli-visitor-2']]) {
        const res = await request('/v1/chat', {
          method: 'POST',
          headers: { 'X-Api-Key': agent.api_key, 'Content-Type': 'application/json' },
          body: JSON.stringify({ session_id: session, visitor_id: visitor, message: 'Please forget me later' }),
        });
        assert.equal(res.status, 200, await res.clone().text());
        await res.text();
      }
    });
    const conversations = async () =>
      (await cliJson<{ agent_id: string; total_conversations: number }[]>(target, 'stats')).find((r) => r.agent_id === agent.id)!.total_conversations;
    const before = await conversations();
    const erased = await cliJson<{ conversations_erased: number }>(target, 'visitor', 'erase', '--agent', agent.id, '--visitor-id', 'cli-visitor-1');
    assert.equal(erased.conversations_erased, 2);
    assert.equal(await conversations(), before - 2);
    const again = await cli(target, 'visitor', 'erase', '--agent', agent.api_key, '--visitor-id', 'cli-visitor-1');
    assert.equal(again.code, 0);
    assert.match(again.stdout, /nothing to erase/);
  });

  it(`says which agent is missing and exits 1 (${label})`, { timeout: TIMEOUT }, async () => {
    const run = await cli(target, 'agent', 'disable', '00000000-0000-4000-8000-000000000000');
    assert.equal(run.code, 1);
    assert.match(run.stderr, /no agent with id 00000000-0000-4000-8000-000000000000/);
  });
}

describe('mistral-agent-chat CLI on embedded PGlite (DATA_DIR)', () => {
  let dataDir = '';
  cliSuite('PGlite', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mac-cli-'));
    dataDir = join(dir, 'data');
    return { target: { DATA_DIR: dataDir }, cleanup: () => rm(dir, { recursive: true, force: true }) };
  });

  it('takes over the data folder lock left by a process that crashed', { timeout: TIMEOUT }, async () => {
    const gone = spawnSync(process.execPath, ['-e', '0']).pid!;
    const lock = join(dataDir, 'mistral-agent-chat.lock');
    await writeFile(lock, JSON.stringify({ pid: gone, command: 'serve', since: new Date().toISOString() }));
    const run = await cli({ DATA_DIR: dataDir }, 'agent', 'list');
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /Sales bot/);
    assert.equal(existsSync(lock), false, 'and releases it when done');
  });
});

describe('mistral-agent-chat CLI on a fresh PostgreSQL database (DATABASE_URL)', { skip: await pgSkip() }, () => {
  cliSuite('PostgreSQL', async () => {
    const db: TestDatabase = await createTestDatabase();
    return { target: { DATABASE_URL: db.url }, cleanup: () => db.drop() };
  });
});

describe('mistral-agent-chat CLI usage', () => {
  const nowhere: Target = { DATA_DIR: join(tmpdir(), 'mac-cli-never-created') };

  it('prints help for every command with --help, exit 0, without opening a database', { timeout: TIMEOUT }, async () => {
    const commands = [[], ['serve'], ['migrate'], ['agent'], ['agent', 'create'], ['agent', 'list'], ['agent', 'update'],
      ['agent', 'rotate-key'], ['agent', 'disable'], ['agent', 'enable'], ['stats'], ['maintenance'], ['visitor', 'erase']];
    for (const cmd of commands) {
      const run = await cli(nowhere, ...cmd, '--help');
      assert.equal(run.code, 0, `${cmd.join(' ')} --help: ${run.stderr}`);
      assert.match(run.stdout, /Usage: mistral-agent-chat/, cmd.join(' '));
    }
    const create = await cli(nowhere, 'agent', 'create', '--help');
    for (const flag of ['--name', '--instructions', '--model', '--temperature', '--max-tokens', '--top-p', '--role', '--owner', '--json']) {
      assert.ok(create.stdout.includes(flag), `agent create --help lists ${flag}`);
    }
  });

  it('exits 2 on an unknown command or subcommand, pointing to --help', { timeout: TIMEOUT }, async () => {
    const unknown = await cli(nowhere, 'deploy');
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command "deploy"/);
    const sub = await cli(nowhere, 'agent', 'delete', 'x');
    assert.equal(sub.code, 2);
    assert.match(sub.stderr, /agent --help/);
    const ref = await cli(nowhere, 'agent', 'disable', 'not-an-id');
    assert.equal(ref.code, 2);
    assert.match(ref.stderr, /neither an agent id/);
    const visitor = await cli(nowhere, 'visitor', 'erase', '--agent', '00000000-0000-4000-8000-000000000000');
    assert.equal(visitor.code, 2);
    assert.match(visitor.stderr, /missing --visitor-id/);
  });
});

/** `serve` until `ready` matches its output (or it exits), then SIGTERM: what it printed, and its exit code. */
function serveUntil(target: Target, extra: Record<string, string>, args: string[], ready: RegExp): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'serve', ...args], { env: { ...cleanEnv(target), PORT: '0', ...extra }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`serve never printed ${ready}:\n${stdout}\n${stderr}`));
    }, TIMEOUT);
    let signalled = false;
    const check = () => {
      if (!signalled && ready.test(stdout + stderr)) {
        signalled = true; // once: a second SIGTERM means "exit now"
        child.kill('SIGTERM');
      }
    };
    child.stdout.setEncoding('utf8').on('data', (c: string) => ((stdout += c), check()));
    child.stderr.setEncoding('utf8').on('data', (c: string) => ((stderr += c), check()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr });
    });
  });
}

/** Quotes come in pairs: no message of ours prints a dangling one. */
const balanced = (text: string) => (text.match(/"/g) ?? []).length % 2 === 0 && !text.includes("'");

describe('mistral-agent-chat CLI messages', () => {
  const nowhere: Target = { DATA_DIR: join(tmpdir(), 'mac-cli-never-created') };

  it('names the flag it does not know and the one that was probably meant, in one plain line', { timeout: TIMEOUT }, async () => {
    const run = await cli(nowhere, 'agent', 'create', '--nmae', 'X');
    assert.equal(run.code, 2);
    assert.equal(run.stderr.split('\n')[0], 'error: unknown option --nmae (did you mean --name?)');
    assert.ok(balanced(run.stderr), run.stderr);
    const far = await cli(nowhere, 'agent', 'create', '--colour', 'red');
    assert.equal(far.stderr.split('\n')[0], 'error: unknown option --colour', 'no far-fetched guess');
    const prefix = await cli(nowhere, 'agent', 'update', '00000000-0000-4000-8000-000000000000', '--daily', '5');
    assert.match(prefix.stderr, /unknown option --daily \(did you mean --daily-token-budget\?\)/);
  });

  it('says which flag lacks a value and which takes none', { timeout: TIMEOUT }, async () => {
    const missing = await cli(nowhere, 'agent', 'create', '--name');
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^error: --name needs a value/);
    const dash = await cli(nowhere, 'agent', 'create', '--name', '--json');
    assert.match(dash.stderr, /^error: --name needs a value \(to give one starting with a dash, write --name=-…\)/);
    const extra = await cli(nowhere, 'agent', 'list', '--json=yes');
    assert.match(extra.stderr, /^error: --json takes no value/);
    for (const r of [missing, dash, extra]) assert.ok(balanced(r.stderr), r.stderr);
  });

  it('suggests the command or subcommand that was probably meant', { timeout: TIMEOUT }, async () => {
    const command = await cli(nowhere, 'agnet', 'list');
    assert.equal(command.code, 2);
    assert.match(command.stderr, /unknown command "agnet" \(did you mean agent\?\)/);
    const sub = await cli(nowhere, 'agent', 'craete', '--name', 'x');
    assert.equal(sub.code, 2);
    assert.match(sub.stderr, /unknown agent subcommand "craete" \(did you mean create\?\)/);
  });

  it('explains TRUST_PROXY, LOG_FORMAT and DEMO_MODE values it cannot use, before starting anything', { timeout: TIMEOUT }, async () => {
    const trust = await cliWith(nowhere, { TRUST_PROXY: 'loopback' }, 'serve');
    assert.equal(trust.code, 1);
    assert.match(trust.stderr, /TRUST_PROXY must be the number of proxies of yours in front of this server .* got "loopback"/);
    const format = await cliWith(nowhere, { LOG_FORMAT: 'pretty' }, 'serve');
    assert.equal(format.code, 2);
    assert.match(format.stderr, /LOG_FORMAT must be "json" or "text"/);
    const demo = await cliWith(nowhere, { DEMO_MODE: 'maybe' }, 'serve');
    assert.equal(demo.code, 1);
    assert.match(demo.stderr, /DEMO_MODE must be 1 .* or 0 .*got "maybe"/);
    const both = await cli(nowhere, 'serve', '--demo', '--no-demo');
    assert.equal(both.code, 2);
    assert.match(both.stderr, /--demo and --no-demo contradict each other/);
    assert.equal(existsSync(nowhere.DATA_DIR), false, 'no database was opened');
  });

  describe('serve, on a fresh embedded database', () => {
    let dir: string;
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'mac-cli-serve-'));
    });
    after(() => rm(dir, { recursive: true, force: true }));

    it('listens on every interface by default and says so, with a URL a browser here can open', { timeout: TIMEOUT }, async () => {
      const run = await serveUntil({ DATA_DIR: join(dir, 'a') }, { LOG_FORMAT: 'json' }, [], /is listening/);
      const line = JSON.parse(run.stdout.split('\n').find((l) => l.includes('"mistral-agent-chat is listening"'))!) as Record<string, unknown>;
      assert.match(String(line.address), /^(::|0\.0\.0\.0)$/);
      assert.match(String(line.interfaces), /^all \(set HOST=127\.0\.0\.1/);
      assert.equal(line.url, `http://localhost:${line.port}`);
      assert.equal(line.mode, 'demo');
    });

    it('listens only where HOST says, and prints that address', { timeout: TIMEOUT }, async () => {
      const run = await serveUntil({ DATA_DIR: join(dir, 'b') }, { LOG_FORMAT: 'json', HOST: '127.0.0.1' }, [], /is listening/);
      const line = JSON.parse(run.stdout.split('\n').find((l) => l.includes('"mistral-agent-chat is listening"'))!) as Record<string, unknown>;
      assert.equal(line.address, '127.0.0.1');
      assert.equal(line.url, `http://127.0.0.1:${line.port}`);
      const bad = await cliWith({ DATA_DIR: join(dir, 'c') }, { HOST: '192.0.2.123', PORT: '0' }, 'serve');
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /HOST=192\.0\.2\.123 is not an address of this machine/);
    });

    it('prints a short human summary with the key and the snippet on a terminal (LOG_FORMAT=text), no JSON', { timeout: TIMEOUT }, async () => {
      const run = await serveUntil({ DATA_DIR: join(dir, 'd') }, { LOG_FORMAT: 'text' }, [], /Paste this into any page/);
      const out = run.stdout + run.stderr;
      assert.ok(!out.split('\n').some((l) => l.startsWith('{')), out);
      assert.match(out, /mistral-agent-chat is running in DEMO mode: http:\/\/localhost:\d+\//);
      assert.match(out, /listening on +every interface, port \d+/);
      assert.match(out, /model +OFFLINE DEMO/);
      const key = /demo key +(mac_[A-Za-z0-9_-]{43})/.exec(out)?.[1];
      assert.ok(key, out);
      assert.ok(out.includes(`api-key="${key}"`), 'the snippet carries the key');
      assert.equal(run.code, 0, 'and it stops cleanly');
    });

    it('in production mode (--no-demo) tells what to do next instead of printing a key', { timeout: TIMEOUT }, async () => {
      const run = await serveUntil({ DATA_DIR: join(dir, 'e') }, { LOG_FORMAT: 'text' }, ['--no-demo'], /agent create --name/);
      const out = run.stdout + run.stderr;
      assert.match(out, /running in PRODUCTION mode/);
      assert.match(out, /model +NONE: MISTRAL_API_KEY is not set/);
      assert.doesNotMatch(out, /mac_[A-Za-z0-9_-]{43}/);
    });
  });

  it('runs the maintenance on demand and says what it pruned', { timeout: TIMEOUT }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mac-cli-maint-'));
    try {
      const target = { DATA_DIR: join(dir, 'data') };
      const json = await cliJson<{ skipped: boolean; removed: Record<string, number> }>(target, 'maintenance', '--batch-size', '100');
      assert.deepEqual(json, {
        skipped: false,
        batches: 1,
        removed: { rate_limits: 0, token_usage: 0, expired_conversations: 0, statistics_compaction: 0, inflight_replies: 0 },
        errors: {},
      });
      const human = await cli(target, 'maintenance');
      assert.match(human.stdout, /maintenance done in 1 batch\(es\): rate_limits: 0, token_usage: 0, inflight_replies: 0, expired_conversations: 0, statistics_compaction: 0/);
      const bad = await cli(target, 'maintenance', '--batch-size', '0');
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /--batch-size must be a whole number greater than 0/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
