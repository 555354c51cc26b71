import { ERROR_STATUS, type ErrorCode, type ErrorBody } from '../protocol.ts';

/** The one error type of the proxy: a protocol code, its HTTP status, a human message. */
export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly field: string | undefined;
  readonly retryAfter: number | undefined;

  constructor(code: ErrorCode, message: string, opts: { field?: string; retryAfter?: number; cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.name = 'ApiError';
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.field = opts.field;
    this.retryAfter = opts.retryAfter;
  }

  toBody(requestId?: string): ErrorBody {
    const error: ErrorBody['error'] = { code: this.code, message: this.message };
    if (this.field !== undefined) error.field = this.field;
    if (this.retryAfter !== undefined) error.retry_after = this.retryAfter;
    if (requestId !== undefined) error.request_id = requestId;
    return { error };
  }
}
