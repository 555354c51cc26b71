/**
 * The peers the bench compares against, installed from npm into bench/peers/node_modules (gitignored) with
 * `npm ci --prefix bench/peers`, outside the root manifest so the product's dependencies do not grow.
 * Versions and pins (with their reasons) are in bench/peers/package.json.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PEERS_DIR = fileURLToPath(new URL('../peers/', import.meta.url));
const MARKER = join(PEERS_DIR, 'node_modules', '.bench-lock-sha256');

/**
 * `npm ci --prefix bench/peers --ignore-scripts` unless node_modules already matches package-lock.json (a hash
 * of the lockfile kept beside it). Install scripts are skipped: we only run Portkey's prebuilt server and weigh
 * prebuilt files. Throws when the install fails, so the bench fails instead of measuring stale peers.
 */
export function ensurePeers(say: (s: string) => void): void {
  const lock = readFileSync(join(PEERS_DIR, 'package-lock.json'));
  const hash = createHash('sha256').update(lock).digest('hex');
  if (existsSync(MARKER) && readFileSync(MARKER, 'utf8') === hash) return;
  say('  installing the peers (npm ci --prefix bench/peers)');
  const t0 = performance.now();
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const res = spawnSync(npm, ['ci', '--prefix', PEERS_DIR, '--ignore-scripts', '--no-audit', '--no-fund'], { encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`npm ci --prefix bench/peers failed: ${(res.stderr || res.stdout).trim().split('\n').slice(-5).join(' | ')}`);
  writeFileSync(MARKER, hash);
  say(`  peers installed in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}

export function peerPath(...parts: string[]): string {
  return join(PEERS_DIR, 'node_modules', ...parts);
}

export function peerVersion(name: string): string {
  return (JSON.parse(readFileSync(peerPath(name, 'package.json'), 'utf8')) as { version: string }).version;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export interface PortkeyGateway {
  url: string;
  pid: number;
  version: string;
  /** The request headers that route a chat completion to our stand-in (provider mistral-ai, custom host). */
  headers: Record<string, string>;
  stop(): Promise<void>;
}

/**
 * Starts the Portkey AI gateway from its npm build (`build/start-server.js`, what `npx @portkey-ai/gateway` and
 * its Docker image run), headless (no console UI), on a free port. It is pointed at the stand-in per request,
 * as its docs describe for a self-hosted model speaking a provider's format: `x-portkey-provider: mistral-ai`
 * plus `x-portkey-custom-host: <stand-in>/v1` (Portkey-AI/gateway src/handlers/services/providerContext.ts:
 * `context.customHost || getBaseURL()`; 127.0.0.1 is in its default TRUSTED_CUSTOM_HOSTS), and the Mistral
 * key travels as `Authorization: Bearer`, as a client sends it.
 */
export async function startPortkey(standInUrl: string): Promise<PortkeyGateway> {
  const script = peerPath('@portkey-ai', 'gateway', 'build', 'start-server.js');
  if (!existsSync(script)) throw new Error(`${script} is missing (npm ci --prefix bench/peers)`);
  const port = await freePort();
  const env: Record<string, string | undefined> = { ...process.env, NODE_ENV: 'production' };
  delete env.PORT;
  const proc: ChildProcess = spawn(process.execPath, [script, `--port=${port}`, '--headless'], {
    cwd: peerPath('@portkey-ai', 'gateway'),
    env: env as NodeJS.ProcessEnv,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  proc.stderr?.on('data', (c: Buffer) => {
    if (stderr.length < 4000) stderr += c.toString();
  });
  let exited = false;
  const exit = new Promise<void>((resolve) => proc.once('exit', () => ((exited = true), resolve())));
  const url = `http://127.0.0.1:${port}`;
  const until = Date.now() + 30_000;
  for (;;) {
    if (exited) throw new Error(`Portkey exited during start: ${stderr.trim().slice(-500)}`);
    try {
      const res = await fetch(url);
      await res.text();
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > until) {
      proc.kill('SIGKILL');
      throw new Error('Portkey did not answer within 30 s');
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    pid: proc.pid as number,
    version: peerVersion('@portkey-ai/gateway'),
    headers: { 'x-portkey-provider': 'mistral-ai', 'x-portkey-custom-host': `${standInUrl}/v1` },
    async stop() {
      if (exited) return;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000);
      await exit;
      clearTimeout(timer);
    },
  };
}
