/**
 * The HTTP client under the Mistral upstream (mistral.ts): one POST whose answer is read as text chunks.
 * Runtime-neutral default: `fetchTransport` over fetch (Deno, Supabase Edge, the offline demo's in-process
 * fetch). The Node server passes a keep-alive node:http client instead (src/server/node/upstream-transport.ts),
 * which skips undici's and the Web streams' work per chunk: about 0.7 to 1.3 ms of CPU per 40-chunk reply
 * on Node 20 (bench/profile-summary.md, lead 2).
 */

export interface TransportRequest {
  headers: Record<string, string>;
  body: string;
  /** Aborting it aborts the request, or the reading of its answer (a pending `read()` rejects). */
  signal: AbortSignal;
}

export interface TransportResponse {
  status: number;
  /** A response header (case-insensitive name), or null. */
  header(name: string): string | null;
  /** False when the answer has no body at all (a fetch Response with a null body). */
  readonly hasBody: boolean;
  /** The next chunk of the body as text (UTF-8, split anywhere), or null at its end. Rejects on a network error. */
  read(): Promise<string | null>;
  /** Stops reading and lets go of the connection; safe to call more than once, and after the end. */
  cancel(): void;
}

export interface UpstreamTransport {
  /** Rejects when no answer comes (connection refused, reset, aborted). */
  post(url: string, req: TransportRequest): Promise<TransportResponse>;
}

/** The transport over a fetch function (the global one by default). */
export function fetchTransport(fetchFn: typeof fetch = fetch): UpstreamTransport {
  return {
    async post(url, req) {
      const res = await fetchFn(url, { method: 'POST', headers: req.headers, body: req.body, signal: req.signal });
      const reader = res.body?.getReader();
      const decoder = new TextDecoder();
      let done = false;
      return {
        status: res.status,
        header: (name) => res.headers.get(name),
        hasBody: reader !== undefined,
        async read() {
          if (done || !reader) return null;
          const next = await reader.read();
          if (!next.done) return decoder.decode(next.value, { stream: true });
          done = true;
          return decoder.decode() || null;
        },
        cancel() {
          if (reader && !done) void reader.cancel().catch(() => {});
          done = true;
        },
      };
    },
  };
}
