#!/usr/bin/env node
// `npm test`: every check and every test suite, in order, with one summary at the end.
//   node scripts/test.js [stage …] [test file …]   only those stages (typecheck lint build manifest size node
//                                                  load browser e2e), only those node/e2e test files
// A suite that needs a service this machine lacks (PostgreSQL, Chromium, Deno, the npm registry) skips outside
// CI and the summary lists each skip by name and reason; under CI=true it fails the run (scripts/services.js).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { findChromium } from './chromium.js';
import { serviceSkip } from './services.js';

const argv = process.argv.slice(2);
const onlyFiles = argv.filter((a) => /\.(ts|js)$/.test(a));
const only = argv.filter((a) => !onlyFiles.includes(a));
const results = [];
const tests = { passed: 0, failed: 0, skipped: 0 };
/** Skipped suites and tests: { where, name, suite, reason }. */
const skips = [];
/** Services a CI run found missing: { where, message }. */
const missing = [];
const scratch = mkdtempSync(join(tmpdir(), 'mac-npm-test-'));
process.on('exit', () => rmSync(scratch, { recursive: true, force: true }));

const wanted = (name) => !only.length || only.includes(name);

function run(name, cmd, args, { env = {}, count, check } = {}) {
  if (!wanted(name)) return;
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
  let ok = res.status === 0;
  const problem = ok && check?.();
  if (problem) {
    console.log(`━━ ${name}: ${problem}`);
    ok = false;
  }
  results.push({ name, ok, seconds: (Date.now() - started) / 1000 });
  return ok;
}

/** A stage that cannot run here: skipped (one skipped suite) outside CI, failed under CI. */
function unavailable(name, service, why) {
  if (!wanted(name)) return;
  let reason;
  try {
    reason = serviceSkip(service, false, why);
  } catch (err) {
    console.log(`\n━━ ${name}: FAILED: ${err.message}`);
    missing.push({ where: name, message: err.message });
    results.push({ name, ok: false, seconds: 0 });
    return;
  }
  console.log(`\n━━ ${name}: SKIPPED: ${reason}`);
  skips.push({ where: name, name: `the ${name} stage`, suite: true, reason });
  tests.skipped += 1;
  results.push({ name, ok: true, skipped: reason, seconds: 0 });
}

/**
 * node --test with the spec reporter on stdout and ours (scripts/test-reporter.js) into a file, whose lines are
 * counted here: passed and failed tests, each skipped test or suite (a skipped suite counts once: its tests
 * never ran, so their number is unknown).
 */
function nodeTests(name, files, concurrency, env = {}) {
  if (!files.length) return;
  const out = join(scratch, `${name}.jsonl`);
  const args = [
    '--import',
    'tsx',
    '--test',
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    '--test-reporter=./scripts/test-reporter.js',
    `--test-reporter-destination=${out}`,
    `--test-concurrency=${concurrency}`,
    ...files,
  ];
  let counted = 0;
  run(name, 'node', args, {
    env,
    // An exit code of 0 with nothing reported is no pass (a nested runner, a reporter that never loaded).
    check: () => (counted === 0 ? 'no test reported a result' : undefined),
    count: () => {
      const lines = existsSync(out) ? readFileSync(out, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)) : [];
      const c = { passed: 0, failed: 0, skipped: 0 };
      counted = lines.length;
      for (const l of lines) {
        const where = l.file?.replace(`${process.cwd()}/`, '') ?? name;
        if (l.kind === 'missing-service') missing.push({ where, message: l.message });
        else if (l.status === 'pass') c.passed += 1;
        else if (l.status === 'fail') c.failed += 1;
        else {
          c.skipped += 1;
          skips.push({ where, name: l.name, suite: l.suite, reason: l.reason || l.status });
        }
      }
      return c;
    },
  });
}

// web-test-runner summary: "✓ 52 passed" / "✗ 1 failed" / "1 skipped"
const wtrCount = (out) => {
  const plain = out.replace(/\u001b\[[0-9;]*m/g, '');
  // The progress bar repeats the counts as it goes: the last figures are the final ones.
  const n = (k) => Number([...plain.matchAll(new RegExp(`(\\d+) ${k}`, 'g'))].at(-1)?.[1] ?? 0);
  return { passed: n('passed'), failed: n('failed'), skipped: n('skipped') };
};

const npx = (bin) => join('node_modules', '.bin', bin);
/** The test files of a stage: every *.test.ts under dir, or those of the files named on the command line. */
const files = (dir) =>
  onlyFiles.length
    ? onlyFiles.map((f) => join(f)).filter((f) => f.startsWith(join(dir) + sep))
    : existsSync(dir)
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

nodeTests('node', files('test/node'), 2);

// The bounded load test (500 conversations × 3 turns on real PostgreSQL); it skips itself without PostgreSQL.
if (existsSync('test/load/run.ts'))
  run('load', 'node', ['--import', 'tsx', 'test/load/run.ts'], {
    count: (out) => {
      const skipped = out.match(/^load: skipped, (.*)$/m)?.[1];
      if (skipped) skips.push({ where: 'test/load/run.ts', name: 'load test', suite: true, reason: skipped });
      const m = out.match(/^load: (\d+) passed, (\d+) failed/m);
      return { passed: Number(m?.[1] ?? 0), failed: Number(m?.[2] ?? 0), skipped: skipped ? 1 : 0 };
    },
  });

const chromium = findChromium();
if (!chromium) {
  const why = 'no Chromium found (apt-get install -y chromium, or set CHROME_PATH)';
  unavailable('browser', 'Chromium', why);
  unavailable('e2e', 'Chromium', why);
} else {
  if (!onlyFiles.length && files('test/browser').length) run('browser', npx('wtr'), [], { env: { CHROME_PATH: chromium }, count: wtrCount });
  nodeTests('e2e', files('test/e2e'), 1, { CHROME_PATH: chromium });
}

console.log('\n━━ summary');
for (const r of results)
  console.log(`${r.ok ? 'ok  ' : 'FAIL'} ${r.name.padEnd(10)} ${r.skipped ? `skipped: ${r.skipped}` : `${r.seconds.toFixed(1)} s`}`);
const failedStages = results.filter((r) => !r.ok).length;
if (missing.length) {
  console.log(`\nmissing services (CI=true fails instead of skipping):`);
  for (const m of new Map(missing.map((m) => [m.message, m])).values()) console.log(`  ${m.where}: ${m.message}`);
}
if (skips.length) {
  const suites = skips.filter((s) => s.suite).length;
  console.log(`\nskipped: ${suites} suite${suites === 1 ? '' : 's'} and ${skips.length - suites} test${skips.length - suites === 1 ? '' : 's'}, by reason:`);
  const byReason = new Map();
  for (const s of skips) byReason.set(s.reason, [...(byReason.get(s.reason) ?? []), s]);
  for (const [reason, list] of byReason) {
    console.log(`  ${reason}:`);
    for (const s of list) console.log(`    ${s.suite ? 'suite' : 'test '} ${s.where} › ${s.name}`);
  }
}
console.log(`stages: ${results.length - failedStages} passed, ${failedStages} failed`);
console.log(`tests: ${tests.passed} passed, ${tests.failed} failed, ${tests.skipped} skipped`);
process.exit(failedStages ? 1 : 0);
