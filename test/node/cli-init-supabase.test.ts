/**
 * `mistral-agent-chat init supabase [dir]`, run as the real bin in temp folders that stand for a site
 * owner's project. (A `deno check` of the written function would need the published npm package, which
 * this machine cannot reach: the function is checked under Deno in deno-check.test.ts, and here the written
 * index.ts is checked byte for byte against ours.)
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'test/helpers/cli-from-source.js');
const OUR_FUNCTION = join(ROOT, 'supabase/functions/mistral-agent-chat');
const OUR_MIGRATIONS = join(ROOT, 'supabase/migrations');
const VERSION = (JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const MIGRATIONS = (await readdir(OUR_MIGRATIONS)).filter((f) => /^\d+_.+\.sql$/.test(f)).sort();
const FN = 'supabase/functions/mistral-agent-chat';
const OURS = [...MIGRATIONS.map((f) => `supabase/migrations/${f}`), `${FN}/index.ts`, `${FN}/deno.json`];
const SECTION = /^\[functions\.mistral-agent-chat\]$/gm;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

interface InitJson {
  written: string[];
  skipped: string[];
  config: { path: string; status: string; verify_jwt: boolean | null };
  warnings: string[];
  next: string[];
}

function cli(cwd: string, ...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

async function initJson(cwd: string, ...args: string[]): Promise<InitJson> {
  const run = await cli(cwd, 'init', 'supabase', ...args, '--json');
  assert.equal(run.code, 0, run.stderr);
  return JSON.parse(run.stdout) as InitJson;
}

const temps: string[] = [];
async function project(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mac-init-'));
  temps.push(dir);
  return dir;
}

/** Every file under `dir`, relative, `/`-separated. */
async function tree(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(dir.length + 1).split('\\').join('/')).sort();
}

describe('mistral-agent-chat init supabase', () => {
  after(async () => {
    await Promise.all(temps.map((d) => rm(d, { recursive: true, force: true })));
  });

  it('sets up a fresh project folder: our migrations, the function, a config.toml, and the next commands', async () => {
    const dir = await project();
    const run = await cli(dir, 'init', 'supabase');
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(await tree(dir), [...OURS, 'supabase/config.toml'].sort());
    for (const f of MIGRATIONS) {
      assert.ok((await readFile(join(dir, 'supabase/migrations', f))).equals(await readFile(join(OUR_MIGRATIONS, f))), `${f} copied as is`);
      assert.ok(run.stdout.includes(f), `the report names ${f}`);
    }
    assert.ok((await readFile(join(dir, FN, 'index.ts'))).equals(await readFile(join(OUR_FUNCTION, 'index.ts'))), 'index.ts byte-identical');
    for (const cmd of ['supabase db push', 'supabase secrets set MISTRAL_API_KEY=', 'supabase functions deploy mistral-agent-chat --no-verify-jwt']) {
      assert.ok(run.stdout.includes(cmd), `prints the next command "${cmd}"`);
    }
    const config = await readFile(join(dir, 'supabase/config.toml'), 'utf8');
    assert.match(config, /^project_id = "mac-init-[^"]+"$/m);
    assert.equal(config.match(SECTION)?.length, 1);
    assert.match(config, /\[functions\.mistral-agent-chat\]\nenabled = true\nverify_jwt = false\n/);
  });

  it("points the function's import map at the published npm package of this version, never at our source", async () => {
    const dir = await project();
    await initJson(dir);
    const deno = JSON.parse(await readFile(join(dir, FN, 'deno.json'), 'utf8')) as { imports: Record<string, string> };
    assert.equal(deno.imports['mistral-agent-chat/server'], `npm:mistral-agent-chat-server@${VERSION}/server`);
    assert.ok(!JSON.stringify(deno).includes('src/server'), 'no path into our repository');
    assert.equal(existsSync(join(dir, FN, 'import_map.local.json')), false, 'the local import map is not copied');
  });

  it('skips identical files on a second run and reports them, appending nothing', async () => {
    const dir = await project();
    const first = await initJson(dir);
    assert.deepEqual(first.written, OURS);
    assert.deepEqual(first.skipped, []);
    assert.deepEqual(first.config, { path: 'supabase/config.toml', status: 'created', verify_jwt: false });
    const config = await readFile(join(dir, 'supabase/config.toml'), 'utf8');

    const second = await initJson(dir);
    assert.deepEqual(second.written, []);
    assert.deepEqual(second.skipped, OURS);
    assert.deepEqual(second.config, { path: 'supabase/config.toml', status: 'present', verify_jwt: false });
    assert.deepEqual(second.warnings, []);
    assert.equal(await readFile(join(dir, 'supabase/config.toml'), 'utf8'), config);

    const human = await cli(dir, 'init', 'supabase', '.');
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /skipped\s+\S*00001_initial_schema\.sql \(already there, identical\)/);
  });

  it('refuses a migration the owner changed, writing nothing, then replaces it with --force', async () => {
    const dir = await project();
    const changed = `supabase/migrations/${MIGRATIONS[1]}`;
    await mkdir(join(dir, 'supabase/migrations'), { recursive: true });
    await writeFile(join(dir, changed), '-- my own edits\n');

    const refused = await cli(dir, 'init', 'supabase');
    assert.equal(refused.code, 1);
    assert.ok(refused.stderr.includes(changed), refused.stderr);
    assert.match(refused.stderr, /--force/);
    assert.match(refused.stderr, /Nothing was written/);
    assert.deepEqual(await tree(dir), [changed], 'nothing else written, not even config.toml');
    assert.equal(await readFile(join(dir, changed), 'utf8'), '-- my own edits\n');

    const forced = await initJson(dir, '--force');
    assert.ok(forced.written.includes(changed));
    assert.ok((await readFile(join(dir, changed))).equals(await readFile(join(OUR_MIGRATIONS, MIGRATIONS[1]!))));
  });

  it('refuses a function index.ts that differs from ours unless --force', async () => {
    const dir = await project();
    await mkdir(join(dir, FN), { recursive: true });
    await writeFile(join(dir, FN, 'index.ts'), 'Deno.serve(() => new Response("mine"));\n');
    const refused = await cli(dir, 'init', 'supabase', '--json');
    assert.equal(refused.code, 1);
    assert.equal(refused.stdout, '');
    assert.ok(refused.stderr.includes(`${FN}/index.ts`), refused.stderr);
    assert.equal(existsSync(join(dir, 'supabase/migrations')), false);
    await initJson(dir, '--force');
    assert.ok((await readFile(join(dir, FN, 'index.ts'))).equals(await readFile(join(OUR_FUNCTION, 'index.ts'))));
  });

  it("appends the function's section once to an existing config.toml, keeping the owner's bytes and other functions", async () => {
    const dir = await project();
    await mkdir(join(dir, 'supabase'));
    // CRLF and no final newline: the appended block must follow the owner's style and start on its own line.
    const original = 'project_id = "shop"\r\n\r\n[functions.send-email]\r\nverify_jwt = true\r\n\r\n[db]\r\nmajor_version = 17';
    await writeFile(join(dir, 'supabase/config.toml'), original);

    const first = await initJson(dir, '.');
    assert.deepEqual(first.config, { path: 'supabase/config.toml', status: 'appended', verify_jwt: false });
    const after1 = await readFile(join(dir, 'supabase/config.toml'), 'utf8');
    assert.ok(after1.startsWith(original + '\r\n'), 'the original bytes are a prefix of the new file');
    assert.equal(after1.match(/^\[functions\.mistral-agent-chat\]\r$/gm)?.length, 1);
    assert.match(after1, /\[functions\.mistral-agent-chat\]\r\nenabled = true\r\nverify_jwt = false\r\n/);
    assert.ok(!/[^\r]\n/.test(after1), 'no bare LF in a CRLF file');
    assert.match(after1, /\[functions\.send-email\]\r\nverify_jwt = true/);

    const second = await initJson(dir);
    assert.equal(second.config.status, 'present');
    assert.equal(await readFile(join(dir, 'supabase/config.toml'), 'utf8'), after1, 'not appended twice');
  });

  it('leaves an existing section with JWT verification on untouched, and warns that the widget would be refused', async () => {
    const dir = await project();
    await mkdir(join(dir, 'supabase'));
    const original = 'project_id = "shop"\n\n[functions."mistral-agent-chat"]\nverify_jwt = true\n';
    await writeFile(join(dir, 'supabase/config.toml'), original);
    const run = await cli(dir, 'init', 'supabase');
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /warning: .*verify_jwt = true.*--no-verify-jwt/s);
    assert.equal(await readFile(join(dir, 'supabase/config.toml'), 'utf8'), original);
    const json = await initJson(dir);
    assert.deepEqual(json.config, { path: 'supabase/config.toml', status: 'present', verify_jwt: true });
    assert.equal(json.warnings.length, 1);
  });

  it("warns that ours sort before the owner's timestamped migrations and that db push may need --include-all", async () => {
    const dir = await project();
    await mkdir(join(dir, 'supabase/migrations'), { recursive: true });
    await writeFile(join(dir, 'supabase/migrations/20240101000000_products.sql'), 'create table products (id int);\n');
    const run = await cli(dir, 'init', 'supabase');
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /warning: .*20240101000000_products\.sql.*--include-all/s);
    assert.equal(await readFile(join(dir, 'supabase/migrations/20240101000000_products.sql'), 'utf8'), 'create table products (id int);\n');
    assert.deepEqual(
      await readdir(join(dir, 'supabase/migrations')),
      [...MIGRATIONS, '20240101000000_products.sql'].sort(),
    );
    const again = await initJson(dir);
    assert.deepEqual(again.warnings, [], 'no warning once ours are in place');
  });

  it("refuses a migration of the owner's with the same version as one of ours, even with --force", async () => {
    const dir = await project();
    const version = MIGRATIONS[0]!.split('_')[0]!;
    await mkdir(join(dir, 'supabase/migrations'), { recursive: true });
    await writeFile(join(dir, `supabase/migrations/${version}_mine.sql`), 'select 1;\n');
    const run = await cli(dir, 'init', 'supabase', '--force');
    assert.equal(run.code, 1);
    assert.ok(run.stderr.includes(`${version}_mine.sql`), run.stderr);
    assert.match(run.stderr, /same version/);
    assert.deepEqual(await tree(dir), [`supabase/migrations/${version}_mine.sql`]);
  });

  it('writes into <dir>/supabase when given a project folder, and refuses a supabase/ folder given instead', async () => {
    const parent = await project();
    await mkdir(join(parent, 'site'));
    const run = await cli(parent, 'init', 'supabase', 'site');
    assert.equal(run.code, 0, run.stderr);
    assert.ok(run.stdout.includes('cd site'), 'the next commands start in the project folder');
    assert.ok(existsSync(join(parent, 'site', FN, 'index.ts')));

    const wrong = await cli(parent, 'init', 'supabase', 'site/supabase');
    assert.equal(wrong.code, 2);
    assert.match(wrong.stderr, /looks like a Supabase folder itself/);
    const missing = await cli(parent, 'init', 'supabase', 'no-such-folder');
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /not a folder/);
    const ourselves = await cli(ROOT, 'init', 'supabase');
    assert.equal(ourselves.code, 2, 'never writes over the package\'s own supabase/ folder');
    assert.match(ourselves.stderr, /the mistral-agent-chat package itself/);
  });

  it('documents the layout, --force, --json and the --include-all case in --help, and rejects unknown targets', async () => {
    const dir = await project();
    const help = await cli(dir, 'init', 'supabase', '--help');
    assert.equal(help.code, 0);
    for (const text of ['Usage: mistral-agent-chat init supabase [dir]', '--force', '--json', '--include-all', 'verify_jwt = false']) {
      assert.ok(help.stdout.includes(text), `help mentions ${text}`);
    }
    const top = await cli(dir, '--help');
    assert.match(top.stdout, /init supabase \[dir\]/);
    const unknown = await cli(dir, 'init', 'vercel');
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown init target "vercel"/);
    assert.deepEqual(await tree(dir), [], 'help and usage errors write nothing');
  });
});
