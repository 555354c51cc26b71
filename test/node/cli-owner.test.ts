/**
 * `mistral-agent-chat owner …`, the real bin as a child process, on a fresh PostgreSQL database and on
 * embedded PGlite: the rows it writes in auth.users (bcrypt as Supabase Auth keeps it), what it prints once,
 * what it refuses, and what deleting an owner takes with it.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import bcrypt from 'bcryptjs';
import { openDb } from '../../src/server/db/open.ts';
import { migrate } from '../../src/server/db/migrate.ts';
import { createTestDatabase, pgSkip, type TestDatabase } from '../helpers/pg.ts';

const BIN = fileURLToPath(new URL('../helpers/cli-from-source.js', import.meta.url));
const TIMEOUT = 90_000;

type Target = { DATABASE_URL: string } | { DATA_DIR: string };

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cleanEnv(target: Target): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of Object.keys(env)) {
    if (/^(DATABASE_URL|DATA_DIR|SUPABASE_|MISTRAL_|PORT$|HOST$|PUBLIC_URL$|DEMO_MODE$|LOG_FORMAT$|OWNER_JWT_SECRET$)/.test(k)) delete env[k];
  }
  return { ...env, ...target };
}

/** The CLI with `stdin` piped in (or an empty, closed stdin). */
function cli(target: Target, args: string[], stdin = ''): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: cleanEnv(target), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr });
    });
    child.stdin.end(stdin);
  });
}

async function withDb<T>(target: Target, fn: (q: { query: <R>(sql: string, params?: unknown[]) => Promise<{ rows: R[] }> }) => Promise<T>): Promise<T> {
  const db = await openDb('DATABASE_URL' in target ? { databaseUrl: target.DATABASE_URL } : { dataDir: target.DATA_DIR });
  try {
    return await fn(db as never);
  } finally {
    await db.close();
  }
}

const hashOf = (target: Target, email: string) =>
  withDb(target, async (q) => (await q.query<{ h: string | null }>('select encrypted_password as h from auth.users where email = $1', [email])).rows[0]?.h);

/** Migrated (00008 adds auth.users.encrypted_password where it is missing). */
async function prepare(target: Target): Promise<void> {
  await withDb(target, (q) => migrate(q as never));
}

describe('owner accounts on a fresh PostgreSQL database', { skip: await pgSkip() }, () => {
  let database: TestDatabase;
  let target: Target;

  before(async () => {
    database = await createTestDatabase();
    target = { DATABASE_URL: database.url };
    await prepare(target);
  });
  after(() => database?.drop());

  it('creates an owner with a generated password, printed once, stored as bcrypt $2a$10$', { timeout: TIMEOUT }, async () => {
    const run = await cli(target, ['owner', 'create', '--email', 'Ada@Example.com']);
    assert.equal(run.code, 0, run.stderr);
    const password = /Password \(shown only now[^)]*\): (\S+)/.exec(run.stdout)?.[1];
    assert.ok(password, `no password in:\n${run.stdout}`);
    assert.ok(password.length >= 20, `a strong password, got ${password}`);
    assert.equal(run.stdout.split(password).length - 1, 1, 'printed exactly once');
    assert.ok(!run.stderr.includes(password), 'never on stderr (logs)');
    // A real database: the CLI cannot know the server's public address without PUBLIC_URL.
    assert.match(run.stdout, /Sign in to the owner console with this email and password: \/console on your server \(set PUBLIC_URL/);
    const hash = await hashOf(target, 'ada@example.com');
    assert.ok(hash, 'the email is kept lower-case, with a password hash');
    assert.match(hash, /^\$2a\$10\$[./A-Za-z0-9]{53}$/);
    assert.equal(await bcrypt.compare(password, hash), true);
    assert.equal(await bcrypt.compare(password + 'x', hash), false);
  });

  it('takes the password from stdin, prints none, and refuses a short one naming the rule', { timeout: TIMEOUT }, async () => {
    const run = await cli(target, ['owner', 'create', '--email', 'bob@example.com', '--password-stdin', '--json'], 'correct horse battery\n');
    assert.equal(run.code, 0, run.stderr);
    const made = JSON.parse(run.stdout) as { id: string; email: string; password?: string };
    assert.equal(made.email, 'bob@example.com');
    assert.equal(made.password, undefined, 'a password the user chose is never echoed');
    assert.equal(await bcrypt.compare('correct horse battery', (await hashOf(target, 'bob@example.com'))!), true, 'the trailing newline is not part of it');

    const short = await cli(target, ['owner', 'create', '--email', 'carol@example.com', '--password-stdin'], 'seven77');
    assert.equal(short.code, 2);
    assert.match(short.stderr, /--password-stdin: the password must be at least 8 characters/);
    assert.equal(await hashOf(target, 'carol@example.com'), undefined, 'nothing stored');

    const empty = await cli(target, ['owner', 'create', '--email', 'carol@example.com', '--password-stdin']);
    assert.equal(empty.code, 2);
    assert.match(empty.stderr, /stdin was empty/);
  });

  it('refuses a duplicate email (whatever its case) and a malformed one, plainly', { timeout: TIMEOUT }, async () => {
    const dup = await cli(target, ['owner', 'create', '--email', 'ADA@example.com']);
    assert.equal(dup.code, 1);
    assert.match(dup.stderr, /an owner with the email ada@example\.com already exists .*owner reset-password/);
    const bad = await cli(target, ['owner', 'create', '--email', 'not-an-email']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--email must be an email address, got "not-an-email"/);
    const missing = await cli(target, ['owner', 'create']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /missing --email/);
  });

  it('resets a password: the new one verifies, the old one no longer does; an unknown email is an error', { timeout: TIMEOUT }, async () => {
    const before = (await hashOf(target, 'bob@example.com'))!;
    const run = await cli(target, ['owner', 'reset-password', '--email', 'bob@example.com', '--password-stdin'], 'a new passphrase');
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /New password set for bob@example\.com/);
    const after = (await hashOf(target, 'bob@example.com'))!;
    assert.notEqual(after, before);
    assert.equal(await bcrypt.compare('a new passphrase', after), true);
    assert.equal(await bcrypt.compare('correct horse battery', after), false);

    const generated = await cli(target, ['owner', 'reset-password', '--email', 'bob@example.com', '--json']);
    assert.equal(generated.code, 0, generated.stderr);
    const { password } = JSON.parse(generated.stdout) as { password: string };
    assert.equal(await bcrypt.compare(password, (await hashOf(target, 'bob@example.com'))!), true);

    const unknown = await cli(target, ['owner', 'reset-password', '--email', 'nobody@example.com']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no owner with the email nobody@example\.com/);
  });

  it('lists owners with their number of agents (--json), and gives a password to an owner that had none', { timeout: TIMEOUT }, async () => {
    const agent = await cli(target, ['agent', 'create', '--name', 'Shop bot', '--owner', 'dana@example.com', '--json']);
    assert.equal(agent.code, 0, agent.stderr);
    let owners = JSON.parse((await cli(target, ['owner', 'list', '--json'])).stdout) as { email: string; id: string; created_at: string; agents: number; has_password: boolean }[];
    const dana = owners.find((o) => o.email === 'dana@example.com');
    assert.deepEqual(
      owners.map((o) => [o.email, o.agents, o.has_password]),
      [
        ['ada@example.com', 0, true],
        ['bob@example.com', 0, true],
        ['dana@example.com', 1, false],
      ],
    );
    assert.match(dana!.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

    const human = await cli(target, ['owner', 'list']);
    assert.match(human.stdout, /^EMAIL\s+ID\s+CREATED\s+AGENTS\s+PASSWORD/);
    assert.match(human.stdout, /dana@example\.com\s+\S+\s+\S+\s+1\s+none \(cannot sign in\)/);

    const claimed = await cli(target, ['owner', 'create', '--email', 'dana@example.com', '--password-stdin'], 'dana-password');
    assert.equal(claimed.code, 0, claimed.stderr);
    owners = JSON.parse((await cli(target, ['owner', 'list', '--json'])).stdout) as typeof owners;
    const after = owners.find((o) => o.email === 'dana@example.com')!;
    assert.equal(after.id, dana!.id, 'the same owner, agents kept');
    assert.deepEqual([after.agents, after.has_password], [1, true]);
  });

  it('deletes an owner with agents only with --yes, after saying what is lost; the agents and conversations go too', { timeout: TIMEOUT }, async () => {
    const { agentId } = await withDb(target, async (q) => {
      const a = (await q.query<{ id: string }>("select a.id from public.agents a join auth.users u on u.id = a.user_id where u.email = 'dana@example.com'")).rows[0]!;
      const c = (await q.query<{ id: string }>("insert into public.conversations (agent_id, session_id) values ($1, 's-1') returning id", [a.id])).rows[0]!;
      await q.query("insert into public.messages (conversation_id, role, content) values ($1, 'user', 'hello'), ($1, 'assistant', 'hi')", [c.id]);
      return { agentId: a.id };
    });

    const refused = await cli(target, ['owner', 'delete', '--email', 'dana@example.com']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /dana@example\.com owns 1 agent with 1 conversation and 2 messages\. Deleting the owner deletes all of them.*--yes/);
    assert.ok(await hashOf(target, 'dana@example.com'), 'still there');

    const done = await cli(target, ['owner', 'delete', '--email', 'dana@example.com', '--yes']);
    assert.equal(done.code, 0, done.stderr);
    assert.match(done.stdout, /Deleted owner dana@example\.com and 1 agent with 1 conversation and 2 messages/);
    const left = await withDb(target, async (q) => ({
      users: (await q.query("select 1 from auth.users where email = 'dana@example.com'")).rows.length,
      agents: (await q.query('select 1 from public.agents where id = $1', [agentId])).rows.length,
      conversations: (await q.query('select 1 from public.conversations where agent_id = $1', [agentId])).rows.length,
    }));
    assert.deepEqual(left, { users: 0, agents: 0, conversations: 0 });

    const noAgents = await cli(target, ['owner', 'delete', '--email', 'ada@example.com', '--json']);
    assert.equal(noAgents.code, 0, noAgents.stderr);
    assert.deepEqual(JSON.parse(noAgents.stdout), { deleted: true, id: JSON.parse(noAgents.stdout).id, email: 'ada@example.com', agents: 0, conversations: 0, messages: 0 });
    const gone = await cli(target, ['owner', 'delete', '--email', 'ada@example.com']);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /no owner with the email ada@example\.com/);
  });
});

describe('owner accounts on embedded PGlite (DATA_DIR)', () => {
  let dir: string;
  let target: Target;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mac-cli-owner-'));
    target = { DATA_DIR: join(dir, 'data') };
    await prepare(target);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('creates and lists an owner in the data folder', { timeout: TIMEOUT }, async () => {
    const run = await cli(target, ['owner', 'create', '--email', 'you@example.com', '--password-stdin'], 'local-password');
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /Sign in to the owner console with this email and password: http:\/\/localhost:8787\/console/);
    assert.equal(await bcrypt.compare('local-password', (await hashOf(target, 'you@example.com'))!), true);
    const list = await cli(target, ['owner', 'list', '--json']);
    assert.deepEqual((JSON.parse(list.stdout) as { email: string }[]).map((o) => o.email), ['you@example.com']);
  });
});

/** `serve` until its output matches `ready`, then SIGTERM; everything it printed. */
function serveUntil(target: Target, extra: Record<string, string>, args: string[], ready: RegExp): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'serve', ...args], { env: { ...cleanEnv(target), PORT: '0', ...extra }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`serve never printed ${ready}:\n${out}`));
    }, TIMEOUT);
    let signalled = false;
    const check = () => {
      if (!signalled && ready.test(out)) {
        signalled = true;
        child.kill('SIGTERM');
      }
    };
    child.stdout.setEncoding('utf8').on('data', (c: string) => ((out += c), check()));
    child.stderr.setEncoding('utf8').on('data', (c: string) => ((out += c), check()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout: out, stderr: '' });
    });
  });
}

describe('what serve tells a newcomer about the owner console', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mac-cli-owner-serve-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('demo mode: the first start gives demo@localhost a password, printed once; later starts do not', { timeout: TIMEOUT * 2 }, async () => {
    const target: Target = { DATA_DIR: join(dir, 'demo') };
    await prepare(target);
    const first = await serveUntil(target, { LOG_FORMAT: 'text' }, [], /Paste this into any page/);
    const url = /console +(http:\/\/localhost:\d+\/console)/.exec(first.stdout)?.[1];
    assert.ok(url, first.stdout);
    const password = /sign in as +demo@localhost +password (\S+)/.exec(first.stdout)?.[1];
    assert.ok(password, first.stdout);
    assert.equal(first.stdout.split(password).length - 1, 1, 'printed once');
    assert.match(first.stdout, /shown only now; change it with: npx mistral-agent-chat owner reset-password --email demo@localhost/);
    assert.equal(await bcrypt.compare(password, (await hashOf(target, 'demo@localhost'))!), true);

    const second = await serveUntil(target, { LOG_FORMAT: 'text' }, [], /Paste this into any page/);
    assert.match(second.stdout, /console +http:\/\/localhost:\d+\/console\n/);
    assert.doesNotMatch(second.stdout, /sign in as|password/);
    assert.equal(await bcrypt.compare(password, (await hashOf(target, 'demo@localhost'))!), true, 'the password stays');
  });

  it('with JSON logs the demo owner\'s password is one log line of its own', { timeout: TIMEOUT }, async () => {
    const target: Target = { DATA_DIR: join(dir, 'json') };
    await prepare(target);
    const run = await serveUntil(target, { LOG_FORMAT: 'json' }, [], /is listening/);
    const lines = run.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    const given = lines.filter((l) => typeof l.password === 'string');
    assert.equal(given.length, 1, run.stdout);
    assert.equal(given[0]!.email, 'demo@localhost');
    assert.match(String(given[0]!.console), /^http:\/\/localhost:\d+\/console$/);
    assert.equal(await bcrypt.compare(String(given[0]!.password), (await hashOf(target, 'demo@localhost'))!), true);
  });

  it('production mode: no password is ever made; it says how to create an owner', { timeout: TIMEOUT }, async () => {
    const target: Target = { DATA_DIR: join(dir, 'prod') };
    await prepare(target);
    const run = await serveUntil(target, { LOG_FORMAT: 'text' }, ['--no-demo'], /agent create --name/);
    assert.match(run.stdout, /console +http:\/\/localhost:\d+\/console +no owner can sign in yet: npx mistral-agent-chat owner create --email you@example\.com \(stop the server first/);
    assert.doesNotMatch(run.stdout, /sign in as/);
    const owners = await withDb(target, async (q) => (await q.query('select 1 from auth.users where encrypted_password is not null')).rows.length);
    assert.equal(owners, 0);
  });
});

describe('owner command usage', () => {
  const target: Target = { DATA_DIR: join(tmpdir(), 'mac-never-opened') };

  it('suggests the subcommand meant and documents each one', { timeout: TIMEOUT }, async () => {
    const typo = await cli(target, ['owner', 'reset-pasword']);
    assert.equal(typo.code, 2);
    assert.match(typo.stderr, /unknown owner subcommand "reset-pasword" \(did you mean reset-password\?\)/);
    const help = await cli(target, ['owner', 'delete', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /their agents go with them.*conversations, messages/is);
    const top = await cli(target, ['--help']);
    assert.match(top.stdout, /owner create --email E/);
  });
});
