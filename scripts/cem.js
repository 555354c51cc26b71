#!/usr/bin/env node
// Custom Elements Manifest from the elements' JSDoc: src/element/**/*.ts (the widget), and the console's element and
// its registration (src/console/mistral-agent-console.ts, define.ts; its views and modules are internal).
//   node scripts/cem.js           regenerate custom-elements.json (committed)
//   node scripts/cem.js --check   exit 1 when the committed custom-elements.json is stale (CI)
// The analyzer rewrites package.json's "customElements" field to its --outdir unless told not to, and
// joins --outdir onto the cwd even when absolute; a throwaway config with packagejson: false and a
// relative outdir avoid both.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const MANIFEST = 'custom-elements.json';
const check = process.argv.includes('--check');
const cem = join(root, 'node_modules/@custom-elements-manifest/analyzer/cem.js');

const tmp = mkdtempSync(join(tmpdir(), 'mac-cem-'));
try {
  const config = join(tmp, 'cem.config.mjs');
  writeFileSync(config, 'export default { packagejson: false };\n');
  const outdir = check ? relative(root, tmp) || '.' : '.';
  const res = spawnSync(
    process.execPath,
    [cem, 'analyze', '--litelement', '--globs', 'src/element/**/*.ts', 'src/console/mistral-agent-console.ts', 'src/console/define.ts', '--exclude', 'src/**/*.test.ts', '--outdir', outdir, '--config', config, '--quiet'],
    { cwd: root, stdio: 'inherit' },
  );
  if (res.status !== 0) process.exit(res.status ?? 1);

  if (check) {
    const fresh = readFileSync(join(tmp, MANIFEST), 'utf8');
    const committed = existsSync(join(root, MANIFEST)) ? readFileSync(join(root, MANIFEST), 'utf8') : null;
    if (committed !== fresh) {
      console.error(
        committed === null
          ? `${MANIFEST} is missing: run \`node scripts/cem.js\` and commit it.`
          : `${MANIFEST} is stale (the element's API or docs changed): run \`node scripts/cem.js\` and commit it.`,
      );
      process.exit(1);
    }
    console.log(`${MANIFEST} is up to date.`);
  } else {
    console.log(`wrote ${MANIFEST}`);
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
