import { ApiError } from '../errors.ts';
import type { Logger } from '../log.ts';

/**
 * Runs one Store call: a database that is down or failing becomes 503 `unavailable` for the visitor
 * (never the raw error), and one log line with the request id for the operator.
 */
export async function storeCall<T>(log: Logger, requestId: string, call: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ApiError) throw err;
    log.error('database call failed', { request_id: requestId, call, error: describeError(err) });
    throw new ApiError('unavailable', 'The service is temporarily unavailable. Please try again shortly.', {
      cause: err,
    });
  }
}

/** A short, log-safe description of anything thrown. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}
