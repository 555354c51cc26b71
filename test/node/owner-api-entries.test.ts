/**
 * The owner API through the real entries, as separate processes on a fresh PostgreSQL database:
 *  - `mistral-agent-chat serve` (Node, DATABASE_URL): local auth, a token from `POST /v1/owner/token`, the
 *    signing secret generated and kept in the database;
 *  - the Supabase Edge Function under Deno, as deployed (supabase-js → the PostgREST double → PostgreSQL):
 *    config says supabase, a token signed like Supabase Auth's (ES256, the double's JWKS) runs as its owner.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Db } from '../../src/server/db/db.ts';
import { migrate } from '../../src/server/db/migrate.ts';
import { openPostgres } from '../../src/server/db/postgres.ts';
import { denoSkip } from '../helpers/deno.ts';
import { insertOwner, supabaseSigningKey, userClaims, type TestOwner } from '../helpers/owners.ts';
import { createTestDatabase, pgSkip, type TestDatabase } from '../helpers/pg.ts';
import { startRpcDouble, type RpcDouble } from '../helpers/rpc-double.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const skip = await pgSkip();
const skipDeno = skip || denoSkip();
/** As protocol-targets.test.ts runs the function (importing that file would run its suites too). */
const DENO_ARGS = [
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

function start(cmd: string, args: string[], env: NodeJS.ProcessEnv, pattern: RegExp): Promise<{ child: ChildProcess; port: number; output: () => string }> {
  const child = spawn(cmd, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cmd} did not start:\n${out}`));
    }, 90_000);
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
      reject(new Error(`${cmd} exited with ${code}:\n${out}`));
    });
  });
}

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 8_000);
  await exited;
  clearTimeout(timer);
}

const baseEnv = (): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, SHUTDOWN_GRACE_MS: '200', NO_COLOR: '1' };
  if (process.env.DENO_DIR) env.DENO_DIR = process.env.DENO_DIR;
  return env;
};

async function openDatabase(): Promise<{ database: TestDatabase; db: Db }> {
  const database = await createTestDatabase();
  const db = openPostgres(database.url, { max: 4 });
  await migrate(db);
  return { database, db };
}

describe('owner API on the Node server process (DATABASE_URL, local auth)', { skip }, () => {
  let database: TestDatabase;
  let db: Db;
  let child: ChildProcess | undefined;
  let base: string;
  let owner: TestOwner;
  before(async () => {
    ({ database, db } = await openDatabase());
    owner = await insertOwner(db, 'node-owner@example.test', 'node owner password');
    const s = await start(process.execPath, ['test/helpers/cli-from-source.js', 'serve'], { ...baseEnv(), DATABASE_URL: database.url, PORT: '0' }, /"msg":"mistral-agent-chat is listening".*?"port":(\d+)/);
    child = s.child;
    base = `http://127.0.0.1:${s.port}`;
  });
  after(async () => {
    await stop(child);
    await db?.close();
    await database?.drop();
  });

  it('signs in with email and password and manages agents with the token', async () => {
    assert.deepEqual(await (await fetch(`${base}/v1/owner/config`)).json(), { auth: 'local' });
    const res = await fetch(`${base}/v1/owner/token`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ email: owner.email, password: owner.password }) });
    const { access_token } = (await res.json()) as { access_token: string };
    assert.equal(res.status, 200);
    const auth = { Authorization: `Bearer ${access_token}`, 'Content-Type': 'application/json' };
    const made = await fetch(`${base}/v1/owner/agents`, { method: 'POST', headers: auth, body: JSON.stringify({ name: 'From the console' }) });
    const agent = (await made.json()) as { id: string; user_id: string; api_key: string };
    assert.equal(made.status, 201);
    assert.equal(agent.user_id, owner.id);
    const list = (await (await fetch(`${base}/v1/owner/agents`, { headers: auth })).json()) as { agents: { id: string }[] };
    assert.deepEqual(list.agents.map((a) => a.id), [agent.id]);
    const widget = await fetch(`${base}/v1/agent`, { headers: { 'X-Api-Key': agent.api_key } });
    assert.deepEqual(await widget.json(), { name: 'From the console', role: 'assistant' });
    const secret = await db.query<{ n: number }>("select count(*)::int as n from public.local_auth_settings where name = 'owner_jwt_secret'");
    assert.equal(secret.rows[0]!.n, 1, 'the signing secret generated on first start, kept in the database');
  });
});

describe('owner API on the Supabase Edge Function under Deno, as deployed (supabase-js → PostgREST double)', { skip: skipDeno }, () => {
  let database: TestDatabase;
  let db: Db;
  let rest: RpcDouble;
  let child: ChildProcess | undefined;
  let base: string;
  let owner: TestOwner;
  let token: string;
  const anonKey = 'sb_publishable_edge-owner-test';
  before(async () => {
    ({ database, db } = await openDatabase());
    const key = await supabaseSigningKey();
    rest = await startRpcDouble({ db, anonKey, jwks: key.jwks });
    owner = await insertOwner(db, 'edge-owner@example.test', null);
    token = await key.sign(userClaims(owner));
    const s = await start(
      `${root}node_modules/.bin/deno`,
      DENO_ARGS,
      {
        ...baseEnv(),
        SUPABASE_URL: rest.url,
        SUPABASE_SECRET_KEYS: JSON.stringify({ default: rest.serviceKey }),
        SUPABASE_PUBLISHABLE_KEYS: JSON.stringify({ default: anonKey }),
        SUPABASE_DB_URL: 'postgres://postgres@127.0.0.1:1/unused',
        DENO_SERVE_ADDRESS: 'tcp:127.0.0.1:0',
      },
      /Listening on http:\/\/127\.0\.0\.1:(\d+)\//,
    );
    child = s.child;
    base = `http://127.0.0.1:${s.port}/mistral-agent-chat`;
  });
  after(async () => {
    await stop(child);
    await rest?.close();
    await db?.close();
    await database?.drop();
  });

  it('says supabase in config and runs the owner’s calls as that owner through PostgREST', async () => {
    assert.deepEqual(await (await fetch(`${base}/v1/owner/config`)).json(), { auth: 'supabase', supabase_url: rest.url, supabase_anon_key: anonKey });
    const auth = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' };
    const made = await fetch(`${base}/v1/owner/agents`, { method: 'POST', headers: auth, body: JSON.stringify({ name: 'Edge agent' }) });
    const agent = (await made.json()) as { id: string; user_id: string };
    assert.equal(made.status, 201, JSON.stringify(agent));
    assert.equal(agent.user_id, owner.id);
    assert.equal((await fetch(`${base}/v1/owner/agents/${agent.id}`, { headers: auth })).status, 200);
    const forged = await fetch(`${base}/v1/owner/agents`, { headers: { Authorization: `Bearer ${token.slice(0, -3)}abc` } });
    assert.equal(forged.status, 401);
    const calls = rest.calls.map((c) => c.fn);
    assert.ok(calls.includes('owner_create_agent') && calls.includes('owner_agent'), 'through PostgREST');
    const local = await fetch(`${base}/v1/owner/token`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"email":"a@b.c","password":"x"}' });
    assert.equal(local.status, 404, 'no local sign-in on Supabase');
  });
});
