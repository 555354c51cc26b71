#!/usr/bin/env node
// `npm test`: every check and every test suite, in order, with one summary at the end.
// Stages that cannot run on this machine (no PostgreSQL, no Chromium) are reported as skipped, by name and why.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { findChromium } from './chromium.js';

const only = process.argv.slice(2);
const results = [];
let tests = { passed: 0, failed: 0, skipped: 0 };

function run(name, cmd, args, { env = {}, count } = {}) {
  if (only.length && !only.includes(name)) return;
  const started = Date.now();
  console.log(`\n━━ ${name}: ${cmd} ${args.join(' ')}`);
  const res = spawnSync(cmd, args, {
    stdio: count ? ['inherit', 'pipe', 'inherit'] : 'inherit',
    env: { ...process.env, ...env },
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  if (count) {
    process.stdout.write(res.stdout ?? '');
    const c = count(res.stdout ?? '');
    tests.passed += c.passed;
    tests.failed += c.failed;
    tests.skipped += c.skipped;
  }
  const ok = res.status === 0;
  results.push({ name, ok, seconds: (Date.now() - started) / 1000 });
  return ok;
}

function skip(name, why) {
  if (only.length && !only.includes(name)) return;
  console.log(`\n━━ ${name}: SKIPPED — ${why}`);
  results.push({ name, ok: true, skipped: why, seconds: 0 });
}

// node --test spec reporter closing lines: "ℹ pass 12", "ℹ fail 0", "ℹ skipped 1"
const nodeCount = (out) => {
  const n = (k) => Number(out.match(new RegExp(`^ℹ ${k} (\\d+)`, 'm'))?.[1] ?? 0);
  return { passed: n('pass'), failed: n('fail'), skipped: n('skipped') };
};
// web-test-runner summary: "✓ 52 passed" / "✗ 1 failed" / "1 skipped"
const wtrCount = (out) => {
  const plain = out.replace(/\u001b\[[0-9;]*m/g, '');
  // The progress bar repeats the counts as it goes: the last figures are the final ones.
  const n = (k) => Number([...plain.matchAll(new RegExp(`(\\d+) ${k}`, 'g'))].at(-1)?.[1] ?? 0);
  return { passed: n('passed'), failed: n('failed'), skipped: n('skipped') };
};

const npx = (bin) => join('node_modules', '.bin', bin);
const files = (dir) =>
  existsSync(dir)
    ? readdirSync(dir, { recursive: true })
        .map(String)
        .filter((f) => f.endsWith('.test.ts'))
        .map((f) => join(dir, f))
        .sort()
    : [];

run('typecheck', npx('tsc'), ['--noEmit', '-p', 'tsconfig.json']);
run('lint', npx('eslint'), ['.']);
run('build', 'node', ['scripts/build.js']);
run('manifest', 'node', ['scripts/cem.js', '--check']);
run('size', 'node', ['scripts/size.js']);

const nodeTests = files('test/node');
if (nodeTests.length)
  run('node', 'node', ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=2', ...nodeTests], {
    count: nodeCount,
  });

// The bounded load test (500 conversations × 3 turns on real PostgreSQL); it skips itself without PostgreSQL.
if (existsSync('test/load/run.ts'))
  run('load', 'node', ['--import', 'tsx', 'test/load/run.ts'], {
    count: (out) => {
      const m = out.match(/^load: (\d+) passed, (\d+) failed/m);
      return { passed: Number(m?.[1] ?? 0), failed: Number(m?.[2] ?? 0), skipped: 0 };
    },
  });

const chromium = findChromium();
if (!chromium) {
  skip('browser', 'no Chromium found (apt-get install -y chromium, or set CHROME_PATH)');
  skip('e2e', 'no Chromium found');
} else {
  if (files('test/browser').length) run('browser', npx('wtr'), [], { env: { CHROME_PATH: chromium }, count: wtrCount });
  const e2e = files('test/e2e');
  if (e2e.length)
    run('e2e', 'node', ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=1', ...e2e], {
      env: { CHROME_PATH: chromium },
      count: nodeCount,
    });
}

console.log('\n━━ summary');
for (const r of results)
  console.log(`${r.ok ? 'ok  ' : 'FAIL'} ${r.name.padEnd(10)} ${r.skipped ? `skipped: ${r.skipped}` : `${r.seconds.toFixed(1)} s`}`);
const failedStages = results.filter((r) => !r.ok).length;
console.log(`stages: ${results.length - failedStages} passed, ${failedStages} failed`);
console.log(`tests: ${tests.passed} passed, ${tests.failed} failed, ${tests.skipped} skipped`);
process.exit(failedStages ? 1 : 0);
