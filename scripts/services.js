// One rule for every check that needs a service this machine may lack (PostgreSQL, Chromium, Deno, the npm
// registry). Outside CI such a suite skips, saying which service is missing and why, and `npm test` counts and
// lists every skip in its summary. Under CI (CI=true, as CI systems and .ci/run set it) a missing service fails
// the run instead: a green CI run has run every suite.

/** Whether this is a CI run: CI set to anything but "", "0" or "false". */
export function inCI(env = process.env) {
  const v = (env.CI ?? '').trim().toLowerCase();
  return v !== '' && v !== '0' && v !== 'false';
}

export class MissingServiceError extends Error {
  name = 'MissingServiceError';
}

/**
 * For `describe(name, { skip: serviceSkip('PostgreSQL', ok, why) }, …)`: false when the service is there;
 * else the skip reason ("PostgreSQL unavailable: why") outside CI, and under CI a MissingServiceError, which
 * fails the test file that asked (thrown while the file declares its suites).
 */
export function serviceSkip(service, available, why, env = process.env) {
  if (available) return false;
  const reason = `${service} unavailable: ${why}`;
  if (inCI(env)) throw new MissingServiceError(`${reason}. CI=true: a missing service fails the run instead of skipping its tests.`);
  return reason;
}
