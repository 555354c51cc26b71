/**
 * Deno for the Edge Function's tests: the `deno` npm package's binary (node_modules/.bin/deno, fetched by its
 * install script). When it does not run, suites skip outside CI and fail the run under CI=true.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { serviceSkip } from '../../scripts/services.js';

export const DENO = fileURLToPath(new URL('../../node_modules/.bin/deno', import.meta.url));

let skip: string | false | undefined;

/** For `describe(name, { skip: denoSkip() }, …)`: false when Deno runs, else the reason (throws under CI). */
export function denoSkip(): string | false {
  if (skip === undefined) {
    const res = spawnSync(DENO, ['--version'], { encoding: 'utf8', timeout: 30_000 });
    skip = serviceSkip(
      'Deno',
      res.status === 0,
      `node_modules/.bin/deno does not run (${res.error?.message ?? res.stderr.trim().split('\n')[0] ?? `exit ${res.status}`}); ` +
        '`npm ci` installs it when the deno package may run its install script',
    );
  }
  return skip;
}
