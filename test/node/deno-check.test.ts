/**
 * The Edge Function type-checks under Deno, and `mistral-agent-chat/server` loads nothing Node-only at
 * import time (PGlite, `pg`, node: built-ins come only through createRuntime's dynamic imports).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import { DENO, denoSkip } from '../helpers/deno.ts';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
const deno = DENO;
/** Resolve `mistral-agent-chat/server` to this repo's source, npm packages from the repo's node_modules. */
const LOCAL = ['--no-config', '--node-modules-dir=manual', '--import-map', 'supabase/functions/mistral-agent-chat/import_map.local.json'];
const FUNCTION = 'supabase/functions/mistral-agent-chat/index.ts';

interface InfoModule {
  specifier: string;
  kind?: string;
  dependencies?: { specifier: string; code?: { specifier: string }; isDynamic?: boolean }[];
}

describe('The Supabase Edge Function under Deno', { skip: denoSkip() }, () => {
  it('passes deno check with the local import map', async () => {
    const { stderr } = await run(deno, ['check', ...LOCAL, FUNCTION], {
      cwd: root,
      env: { ...process.env, NO_COLOR: '1' },
      timeout: 120_000,
    }).catch((err: { stdout: string; stderr: string }) => {
      throw new Error(`deno check failed:\n${err.stdout}\n${err.stderr}`);
    });
    assert.match(stderr, /Check .*index\.ts/);
  });

  it('imports mistral-agent-chat/server without PGlite, pg or node: built-ins', async () => {
    const { stdout } = await run(deno, ['info', '--json', ...LOCAL, FUNCTION], { cwd: root, timeout: 120_000, maxBuffer: 32 * 1024 * 1024 });
    const modules = new Map((JSON.parse(stdout) as { modules: InfoModule[] }).modules.map((m) => [m.specifier, m]));
    // Walk static code imports only: what runs when the module is imported.
    const seen = new Set<string>();
    const stack = [new URL(FUNCTION, `file://${root}`).href];
    while (stack.length) {
      const spec = stack.pop()!;
      if (seen.has(spec)) continue;
      seen.add(spec);
      for (const dep of modules.get(spec)?.dependencies ?? []) {
        if (dep.code && !dep.isDynamic) stack.push(dep.code.specifier);
      }
    }
    const loaded = [...seen];
    assert.ok(loaded.some((s) => s.endsWith('/src/server/app.ts')), 'the walk reaches the app');
    assert.ok(loaded.some((s) => s.includes('@supabase/supabase-js')), 'the walk reaches supabase-js');
    const nodeOnly = loaded.filter(
      (s) => s.startsWith('node:') || s.includes('@electric-sql/pglite') || s.includes('/node_modules/pg/') || /\/src\/server\/(db\/(open|pglite|postgres|migrate)|node\/|cli\/)/.test(s),
    );
    assert.deepEqual(nodeOnly, [], 'modules loaded at import time that only Node (or only a chosen storage) needs');
  });
});
