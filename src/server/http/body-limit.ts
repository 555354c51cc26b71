import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { ApiError } from '../errors.ts';
import type { AppEnv } from './env.ts';

/**
 * 413 `payload_too_large` for a body over `maxBytes`. Same rule as Hono's bodyLimit, with a fast path: a
 * declared Content-Length (what browsers send) is checked from the header alone. Hono's middleware first reads
 * `c.req.raw.body`, which on @hono/node-server turns the lightweight request into a full web Request with a
 * stream per chat turn (one of the larger costs of a turn in the proxy's CPU profile); without that access the
 * route's `c.req.text()` reads the socket directly. Bodies without a length (chunked) still go through
 * Hono's middleware, which stops reading as soon as the limit is passed.
 */
export function chatBodyLimit(maxBytes: number): MiddlewareHandler<AppEnv> {
  const tooLarge = () => {
    throw new ApiError('payload_too_large', `The request body must be at most ${maxBytes} bytes.`);
  };
  const streamed = bodyLimit({ maxSize: maxBytes, onError: tooLarge });
  return async (c, next) => {
    const length = c.req.header('Content-Length');
    if (length !== undefined && c.req.header('Transfer-Encoding') === undefined) {
      if (parseInt(length || '0', 10) > maxBytes) tooLarge();
      return next();
    }
    return streamed(c, next);
  };
}
