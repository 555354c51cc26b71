import { ApiError } from '../errors.ts';
import type { Logger } from '../log.ts';

/**
 * How long a Store call may take before the visitor is told the service is unavailable. A database that stops
 * answering (network partition, a frozen host, a lock) must not hold a request or an SSE stream open forever;
 * the call itself may still finish later (its result is then ignored).
 */
export const STORE_TIMEOUT_MS = 10_000;

/**
 * Runs one Store call: a database that is down, failing or not answering becomes 503 `unavailable` for the
 * visitor (never the raw error), and one log line with the request id for the operator.
 */
export async function storeCall<T>(log: Logger, requestId: string, call: string, fn: () => Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer after ${STORE_TIMEOUT_MS} ms`)), STORE_TIMEOUT_MS);
  });
  try {
    return await Promise.race([fn(), deadline]);
  } catch (err) {
    if (err instanceof ApiError) throw err;
    log.error('database call failed', { request_id: requestId, call, error: describeError(err) });
    throw new ApiError('unavailable', 'The service is temporarily unavailable. Please try again shortly.', {
      cause: err,
    });
  } finally {
    clearTimeout(timer);
  }
}

/** A short, log-safe description of anything thrown. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}
