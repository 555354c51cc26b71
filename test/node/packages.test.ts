/**
 * The two packages published from this repository (packages/*, packed by scripts/pack.js), installed as users
 * install them: a front end installs mistral-agent-chat and gets the element and nothing of the proxy, within
 * 6 MiB of node_modules; whoever runs the proxy installs mistral-agent-chat-server with one command, and
 * `npx mistral-agent-chat serve` answers /healthz and serves /widget.js with no TypeScript tooling.
 * The installs need the npm registry (warm cache: about 20 s in all); without it this skips outside CI.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, lstatSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { serviceSkip } from '../../scripts/services.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const exec = promisify(execFile);
const MiB = 1024 * 1024;
/** What a front end must never download for the element: the proxy's dependencies and build tools. */
const SERVER_ONLY = ['@electric-sql/pglite', 'pg', '@supabase/supabase-js', 'hono', '@hono/node-server', 'esbuild', 'tsx'];

interface Manifest {
  name: string;
  version?: string;
  dependencies?: Record<string, string>;
}
const readJson = <T>(path: string) => JSON.parse(readFileSync(path, 'utf8')) as T;
const rootManifest = readJson<Manifest>(join(ROOT, 'package.json'));
const element = readJson<Manifest>(join(ROOT, 'packages/mistral-agent-chat/package.json'));
const server = readJson<Manifest>(join(ROOT, 'packages/mistral-agent-chat-server/package.json'));

/** The npm packages the files under `dirs` import (bare specifiers; node: built-ins left out). */
function importedPackages(dirs: string[]): Set<string> {
  const found = new Set<string>();
  const visit = (path: string) => {
    if (lstatSync(path).isDirectory()) return readdirSync(path).forEach((f) => visit(join(path, f)));
    if (!/\.ts$/.test(path) || path.endsWith('.d.ts')) return;
    const text = readFileSync(path, 'utf8');
    for (const m of text.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+'([^'.][^']*)'|import\('([^'.][^']*)'\)/gm)) {
      const spec = (m[1] ?? m[2])!;
      if (spec.startsWith('node:') || /^import\s+type\s/.test(m[0].trim())) continue;
      found.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
    }
  };
  dirs.forEach((d) => visit(join(ROOT, d)));
  return found;
}

describe('the published manifests', () => {
  it('list every package the server imports, and the element only what the browser code imports', () => {
    const serverImports = importedPackages(['src/server', 'src/protocol.ts']);
    const serverDeps = new Set(Object.keys(server.dependencies ?? {}));
    assert.deepEqual([...serverImports].filter((p) => !serverDeps.has(p)), [], 'imported by src/server but not a dependency of the server package');
    const browserImports = importedPackages(['src/element', 'src/client', 'src/markdown', 'src/index.ts', 'src/define.ts', 'src/widget.ts', 'src/widget-element.ts']);
    assert.deepEqual(Object.keys(element.dependencies ?? {}).sort(), [...browserImports].sort(), 'the element package depends on exactly what its code imports');
  });

  it('take every dependency range from the root package.json, the one place versions are written', () => {
    for (const m of [element, server]) {
      for (const [name, range] of Object.entries(m.dependencies ?? {})) {
        assert.equal(range, '*', `${m.name}: ${name} gets its range from the root package.json at pack time`);
        assert.ok(rootManifest.dependencies?.[name], `${m.name}: ${name} is missing from the root package.json's dependencies`);
      }
    }
  });

  it("map the Edge Function's mistral-agent-chat/server to the published server package", async () => {
    const deno = JSON.parse(await readFile(join(ROOT, 'supabase/functions/mistral-agent-chat/deno.json'), 'utf8')) as { imports: Record<string, string> };
    assert.equal(deno.imports['mistral-agent-chat/server'], `npm:mistral-agent-chat-server@^${rootManifest.version}/server`);
  });
});

const registry = spawnSync('npm', ['ping'], { encoding: 'utf8', timeout: 20_000 });
const skip = serviceSkip('the npm registry', registry.status === 0, `\`npm ping\` failed (${(registry.stderr || registry.error?.message || '').trim().split('\n').at(-1)})`);

interface Footprint {
  /** Sum of file sizes (what npm calls unpacked size). */
  bytes: number;
  /** Disk usage in 4 KB blocks, as `du` reports it. */
  diskBytes: number;
  /** Installed package names (nested ones too), our own included. */
  packages: string[];
}

function footprint(nodeModules: string): Footprint {
  const out: Footprint = { bytes: 0, diskBytes: 0, packages: [] };
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      const st = lstatSync(path);
      out.bytes += st.isDirectory() ? 0 : st.size;
      out.diskBytes += st.blocks * 512;
      if (st.isDirectory()) walk(path);
    }
  };
  walk(nodeModules);
  const collect = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      if (entry.startsWith('.')) continue;
      const names = entry.startsWith('@') ? readdirSync(join(dir, entry)).map((e) => `${entry}/${e}`) : [entry];
      for (const name of names) {
        out.packages.push(name);
        if (existsSync(join(dir, name, 'node_modules'))) collect(join(dir, name, 'node_modules'));
      }
    }
  };
  collect(nodeModules);
  return out;
}

const mb = (n: number) => `${(n / MiB).toFixed(2)} MiB`;

async function project(name: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `mac-${name}-`));
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name, private: true, type: 'module' }));
  return dir;
}

/** `npm install` of local tarballs into `dir`, as a user would (the registry for their dependencies). */
async function install(dir: string, tarballs: string[]): Promise<void> {
  await exec('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', ...tarballs], { cwd: dir, timeout: 240_000 });
}

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

// The checks share the two installs and touch nothing in common: they run at once.
describe('npm install of the packed packages', { skip, timeout: 300_000, concurrency: true }, () => {
  let work: string;
  let tarballs: { element: string; server: string };
  let front: string;
  let proxy: string;
  let serve: ChildProcess | undefined;

  before(async () => {
    // dist/ as `npm test` has just built it, or built now when missing or older than the sources.
    const built = spawnSync(process.execPath, ['scripts/ensure-build.js'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(built.status, 0, built.stdout + built.stderr);
    work = await mkdtemp(join(tmpdir(), 'mac-pack-'));
    const { stdout } = await exec(process.execPath, ['scripts/pack.js', '--no-build', '--json', '--out', work], { cwd: ROOT });
    const packed = JSON.parse(stdout) as { name: string; tarball: string }[];
    tarballs = {
      element: packed.find((p) => p.name === 'mistral-agent-chat')!.tarball,
      server: packed.find((p) => p.name === 'mistral-agent-chat-server')!.tarball,
    };
    [front, proxy] = await Promise.all([project('front-end'), project('proxy')]);
    // One command each, as the README says; both at once to save time.
    await Promise.all([install(front, [tarballs.element]), install(proxy, [tarballs.server])]);
  });

  after(async () => {
    if (serve?.pid && serve.exitCode === null) process.kill(-serve.pid, 'SIGKILL');
    for (const dir of [work, front, proxy]) if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('gives a front end the element and its four dependencies only, within 6 MiB', (t) => {
    const f = footprint(join(front, 'node_modules'));
    t.diagnostic(`front end: ${f.packages.length} packages, ${mb(f.bytes)} of files (${mb(f.diskBytes)} on disk): ${f.packages.join(', ')}`);
    assert.deepEqual(f.packages.filter((p) => SERVER_ONLY.includes(p) || p.startsWith('@esbuild/') || p.startsWith('@supabase/')), []);
    assert.ok(f.bytes <= 6 * MiB, `node_modules holds ${mb(f.bytes)} > 6 MiB`);
    for (const dep of ['lit', 'marked', 'dompurify', 'eventsource-parser']) assert.ok(f.packages.includes(dep), dep);
  });

  it('resolves the element entry points and their types the way a bundler and TypeScript do', async () => {
    const resolve = `for (const s of ['mistral-agent-chat', 'mistral-agent-chat/define', 'mistral-agent-chat/widget', 'mistral-agent-chat/custom-elements.json'])
      console.log(new URL(import.meta.resolve(s)).pathname);`;
    const { stdout } = await exec(process.execPath, ['--input-type=module', '-e', resolve], { cwd: front });
    for (const file of stdout.trim().split('\n')) assert.ok(existsSync(file), file);
    await writeFile(
      join(front, 'app.ts'),
      "import 'mistral-agent-chat/define';\nimport { MistralAgentChat, type MistralAgentChatProps } from 'mistral-agent-chat';\n" +
        "const props: MistralAgentChatProps = { 'api-key': 'mac_x' };\nexport const chat: MistralAgentChat = new MistralAgentChat();\nexport { props };\n",
    );
    const compilerOptions = { noEmit: true, strict: true, skipLibCheck: true, target: 'es2022', module: 'esnext', moduleResolution: 'bundler', lib: ['es2022', 'dom'], types: [] };
    await writeFile(join(front, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['app.ts'] }));
    const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
    await exec(process.execPath, [tsc, '-p', '.'], { cwd: front }).catch((err: { stdout: string }) => assert.fail(`tsc: ${err.stdout}`));
  });

  it('installs the proxy with one command, with no TypeScript tooling, and sets up a Supabase project', async (t) => {
    const f = footprint(join(proxy, 'node_modules'));
    t.diagnostic(`proxy: ${f.packages.length} packages, ${mb(f.bytes)} of files (${mb(f.diskBytes)} on disk)`);
    assert.deepEqual(f.packages.filter((p) => ['esbuild', 'tsx', 'typescript'].includes(p) || p.startsWith('@esbuild/')), []);
    const help = await exec('npx', ['mistral-agent-chat-server', '--help'], { cwd: proxy });
    assert.match(help.stdout, /^Usage: mistral-agent-chat <command>/m, 'the mistral-agent-chat-server alias runs the CLI');
    const { stdout } = await exec(process.execPath, ['--input-type=module', '-e', "const m = await import('mistral-agent-chat-server/server'); console.log(typeof m.createApp, typeof m.createRuntime);"], { cwd: proxy });
    assert.equal(stdout.trim(), 'function function', 'mistral-agent-chat-server/server loads under plain Node');

    await exec('npx', ['mistral-agent-chat', 'init', 'supabase', '.', '--json'], { cwd: proxy });
    const deno = JSON.parse(await readFile(join(proxy, 'supabase/functions/mistral-agent-chat/deno.json'), 'utf8')) as { imports: Record<string, string> };
    assert.equal(deno.imports['mistral-agent-chat/server'], `npm:mistral-agent-chat-server@${rootManifest.version}/server`);
    assert.ok(existsSync(join(proxy, 'supabase/functions/mistral-agent-chat/index.ts')));
    assert.ok(existsSync(join(proxy, 'supabase/migrations/00001_initial_schema.sql')));
  });

  it('runs `npx mistral-agent-chat serve`: /healthz answers and /widget.js is served, precompressed', async () => {
    const port = await freePort();
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: join(proxy, 'data'), LOG_FORMAT: 'json' };
    for (const k of Object.keys(env)) if (/^(DATABASE_URL|SUPABASE_|MISTRAL_|PUBLIC_URL$|NODE_OPTIONS$)/.test(k)) delete env[k];
    // Its own process group, so the npx wrapper and the server stop together.
    serve = spawn('npx', ['mistral-agent-chat', 'serve'], { cwd: proxy, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    serve.stdout!.on('data', (d: Buffer) => (output += d));
    serve.stderr!.on('data', (d: Buffer) => (output += d));
    const deadline = Date.now() + 90_000;
    let health = 0;
    while (Date.now() < deadline && serve.exitCode === null) {
      health = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.status, () => 0);
      if (health === 200) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.equal(health, 200, `no healthy server:\n${output}`);

    const widget = await fetch(`http://127.0.0.1:${port}/widget.js`, { headers: { 'Accept-Encoding': 'br' } });
    assert.equal(widget.status, 200);
    assert.match(widget.headers.get('content-type') ?? '', /^text\/javascript/);
    assert.equal(widget.headers.get('content-encoding'), 'br');
    assert.ok((await widget.text()).includes('mistral-agent-chat'), 'the loader itself');

    // 'close': npx and the server it started share the pipes, so they close when both have exited.
    const closed = new Promise((resolve) => serve!.once('close', resolve));
    process.kill(-serve.pid!, 'SIGTERM');
    await closed;
    assert.match(output, /"msg":"server closed"/, `stops cleanly on SIGTERM:\n${output}`);
  });
});
