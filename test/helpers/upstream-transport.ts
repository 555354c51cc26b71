/**
 * Which HTTP client the Mistral upstream suites use: fetch (the default, what Deno and Supabase run), or the
 * Node server's keep-alive node:http client when UPSTREAM_TEST_TRANSPORT=node (set by
 * test/node/upstream-node-transport.test.ts, which runs upstream-mistral.test.ts again that way).
 */
import { nodeUpstreamTransport } from '../../src/server/node/upstream-transport.ts';
import type { UpstreamTransport } from '../../src/server/upstream/transport.ts';

let shared: ReturnType<typeof nodeUpstreamTransport> | undefined;

export function suiteTransport(): { transport?: UpstreamTransport } {
  if (process.env.UPSTREAM_TEST_TRANSPORT !== 'node') return {};
  shared ??= nodeUpstreamTransport();
  return { transport: shared };
}

/** Closes the shared client's idle sockets (so the test process can exit). */
export function closeSuiteTransport(): void {
  shared?.close();
  shared = undefined;
}
