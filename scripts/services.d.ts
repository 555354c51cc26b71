/** Whether this is a CI run: CI set to anything but "", "0" or "false". */
export function inCI(env?: Record<string, string | undefined>): boolean;
export class MissingServiceError extends Error {}
/**
 * For `describe(name, { skip: serviceSkip('PostgreSQL', ok, why) }, …)`: false when the service is there;
 * else the skip reason outside CI; under CI=true it throws MissingServiceError (the test file fails).
 */
export function serviceSkip(service: string, available: boolean, why: string, env?: Record<string, string | undefined>): string | false;
