/**
 * `npm test` (scripts/test.js) tells the truth about what ran: outside CI it counts every skipped suite and test
 * and lists them by name and reason; under CI=true a suite that would skip for a missing service (PostgreSQL,
 * Chromium, …) fails the run instead; .ci/run stops with one clear line when PostgreSQL does not come up.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { MissingServiceError, inCI, serviceSkip } from '../../scripts/services.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FIXTURE = 'test/node/fixtures/needs-postgres.fixture.ts';

interface Run {
  code: number | null;
  out: string;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (out += d));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, out }));
  });
}

/** A port where nothing listens (bound, then released). */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

describe('npm test with a missing service', () => {
  let env: NodeJS.ProcessEnv;
  let where: string;

  before(async () => {
    const port = await closedPort();
    where = `postgres://postgres@127.0.0.1:${port}/postgres`;
    env = { ...process.env, TEST_DATABASE_URL: where, TEST_PG_URL: '' };
    delete env.CI;
    // Set by the runner running this file: a child `node --test` would think it is nested and run nothing.
    delete env.NODE_TEST_CONTEXT;
  });

  it('outside CI counts the skipped suite and test, each by name and reason, and passes', { timeout: 120_000 }, async () => {
    const { code, out } = await run(process.execPath, ['scripts/test.js', 'node', FIXTURE], env);
    assert.equal(code, 0, out);
    assert.match(out, /^tests: 1 passed, 0 failed, 2 skipped$/m, 'the closing line counts both skips');
    assert.match(out, /^skipped: 1 suite and 1 test, by reason:$/m);
    assert.match(out, new RegExp(`PostgreSQL unavailable: nothing answers at postgres://127\\.0\\.0\\.1:\\d+/postgres`));
    assert.match(out, /suite test\/node\/fixtures\/needs-postgres\.fixture\.ts › a suite that needs PostgreSQL/);
    assert.match(out, /a reason of its own:\n\s+test  test\/node\/fixtures\/needs-postgres\.fixture\.ts › is skipped on purpose/);
  });

  it('under CI=true fails the run, naming the missing service', { timeout: 120_000 }, async () => {
    const { code, out } = await run(process.execPath, ['scripts/test.js', 'node', FIXTURE], { ...env, CI: 'true' });
    assert.equal(code, 1, out);
    assert.match(out, /^FAIL node/m);
    assert.match(out, /missing services \(CI=true fails instead of skipping\):\n\s+test\/node\/fixtures\/needs-postgres\.fixture\.ts: PostgreSQL unavailable: nothing answers at/);
    assert.match(out, /^tests: 0 passed, 1 failed, 0 skipped$/m, 'nothing is reported as passed or skipped');
  });

  it('without Chromium skips the browser stage by name outside CI, and fails it under CI=true', { timeout: 60_000 }, async () => {
    const noChromium = { ...env, CHROME_PATH: join(tmpdir(), 'no-chromium-here') };
    const local = await run(process.execPath, ['scripts/test.js', 'browser'], noChromium);
    assert.equal(local.code, 0, local.out);
    assert.match(local.out, /━━ browser: SKIPPED: Chromium unavailable: no Chromium found/);
    assert.match(local.out, /^tests: 0 passed, 0 failed, 1 skipped$/m);
    const ci = await run(process.execPath, ['scripts/test.js', 'browser'], { ...noChromium, CI: 'true' });
    assert.equal(ci.code, 1, ci.out);
    assert.match(ci.out, /━━ browser: FAILED: Chromium unavailable: no Chromium found/);
    assert.match(ci.out, /^FAIL browser/m);
  });
});

describe('.ci/run when PostgreSQL does not come up', () => {
  let bin: string;
  before(async () => {
    // Stand-ins for the system tools: PostgreSQL never answers, npm records that it ran, sleep returns at once.
    bin = await mkdtemp(join(tmpdir(), 'mac-ci-run-'));
    const stub = async (name: string, body: string) => {
      await writeFile(join(bin, name), `#!/bin/sh\n${body}\n`);
      await chmod(join(bin, name), 0o755);
    };
    await stub('pg_isready', 'exit 2');
    await stub('pg_ctlcluster', 'echo "pg_ctlcluster: cannot start" >&2; exit 1');
    await stub('sleep', 'exit 0');
    await stub('apt-get', 'exit 0');
    await stub('npm', `touch "${bin}/npm-ran"`);
  });
  after(() => rm(bin, { recursive: true, force: true }));

  it('stops with one clear line before installing or testing anything', { timeout: 60_000 }, async () => {
    const { code, out } = await run('bash', ['.ci/run'], { ...process.env, PATH: `${bin}:${process.env.PATH}` });
    assert.equal(code, 1, out);
    assert.match(out, /^\.ci\/run: PostgreSQL did not come up on 127\.0\.0\.1:5432 .*stopping\.$/m);
    assert.equal(existsSync(join(bin, 'npm-ran')), false, 'npm ci / npm test never ran');
  });
});

describe('the CI rule for missing services (scripts/services.js)', () => {
  it('reads CI as CI systems set it', () => {
    for (const v of ['true', '1', 'yes', 'TRUE']) assert.equal(inCI({ CI: v }), true, v);
    for (const v of [undefined, '', '0', 'false', 'False']) assert.equal(inCI({ CI: v }), false, String(v));
  });

  it('skips with the service and the reason outside CI, throws under CI, and never skips a present service', () => {
    assert.equal(serviceSkip('Deno', true, 'irrelevant', { CI: 'true' }), false);
    assert.equal(serviceSkip('Deno', false, 'node_modules/.bin/deno does not run', {}), 'Deno unavailable: node_modules/.bin/deno does not run');
    assert.throws(() => serviceSkip('Deno', false, 'node_modules/.bin/deno does not run', { CI: 'true' }), (err: unknown) => {
      assert.ok(err instanceof MissingServiceError);
      assert.match(err.message, /^Deno unavailable: node_modules\/\.bin\/deno does not run\. CI=true: a missing service fails the run/);
      return true;
    });
  });
});
