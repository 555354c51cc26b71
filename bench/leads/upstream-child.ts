/**
 * Lead "a Node-only upstream client": this process plays the proxy's upstream side only, `concurrency`
 * replies at a time from the paced stand-in in a closed loop, with one client variant, and reports its CPU per
 * reply. Variants: `fetch` (our Mistral client on the global fetch, as today), `http-shim` (the same client
 * given a fetch built on node:http: the drop-in change), `node-transport` (the same client on the Node
 * server's transport, src/server/node/upstream-transport.ts), `http-raw` (node:http + eventsource-parser +
 * JSON.parse per chunk: the floor of a Node-only client that parses the same way).
 */
import http from 'node:http';
import { Readable } from 'node:stream';
import { createParser } from 'eventsource-parser';
import { nodeUpstreamTransport } from '../../src/server/node/upstream-transport.ts';
import { createMistralUpstream } from '../../src/server/upstream/mistral.ts';
import { serveParent } from '../lib/child.ts';

const agent = new http.Agent({ keepAlive: true, maxSockets: 4096 });
const transport = nodeUpstreamTransport();
const quiet = { info: () => {}, warn: () => {}, error: () => {} };
const request = {
  model: 'mistral-small-latest',
  messages: [
    { role: 'system' as const, content: 'You are a helpful test agent.' },
    ...Array.from({ length: 19 }, (_, i) => ({ role: (i % 2 ? 'assistant' : 'user') as 'user' | 'assistant', content: `Bench message ${i}: what are your opening hours on Saturdays?` })),
  ],
  temperature: 0.7,
  max_tokens: 1024,
  top_p: 1,
};

/** fetch over node:http: the Response the Mistral client expects, its body a web stream over the socket. */
const httpFetch: typeof fetch = (input, init) =>
  new Promise((resolve, reject) => {
    const u = new URL(String(input));
    const req = http.request(
      { host: u.hostname, port: u.port, path: u.pathname, method: init?.method ?? 'GET', headers: init?.headers as Record<string, string>, agent, signal: init?.signal ?? undefined },
      (res) => {
        const headers = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') headers.set(k, v);
        resolve(new Response(Readable.toWeb(res) as ReadableStream, { status: res.statusCode ?? 500, headers }));
      },
    );
    req.on('error', reject);
    req.end(init?.body as string);
  });

function rawReply(base: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const u = new URL(`${base}/v1/chat/completions`);
    const body = JSON.stringify({ ...request, stream: true });
    const req = http.request(
      { host: u.hostname, port: u.port, path: u.pathname, method: 'POST', agent, headers: { 'content-type': 'application/json', authorization: 'Bearer k', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        res.setEncoding('utf8');
        const parser = createParser({
          onEvent: (e) => {
            if (e.data !== '[DONE]') JSON.parse(e.data);
          },
        });
        res.on('data', (c: string) => parser.feed(c));
        res.on('end', () => resolve());
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function run(variant: string, url: string, concurrency: number, durationMs: number) {
  const upstream = createMistralUpstream({
    apiKey: 'k',
    baseUrl: url,
    timeouts: { firstByteMs: 30_000, idleMs: 30_000, totalMs: 120_000 },
    retries: { max: 0, maxDelayMs: 0 },
    log: quiet,
    ...(variant === 'http-shim' ? { fetch: httpFetch } : {}),
    ...(variant === 'node-transport' ? { transport } : {}),
  });
  const one = async () => {
    if (variant === 'http-raw') return rawReply(url);
    const gen = upstream.stream(request, { signal: new AbortController().signal, requestId: 'lead' });
    for (;;) if ((await gen.next()).done) return;
  };
  const end = performance.now() + durationMs;
  let replies = 0;
  const c0 = process.cpuUsage();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      await new Promise((r) => setTimeout(r, Math.random() * 1000));
      while (performance.now() < end) {
        await one();
        replies++;
      }
    }),
  );
  const c = process.cpuUsage(c0);
  return { replies, cpuMs: (c.user + c.system) / 1000, kernelMs: c.system / 1000 };
}

serveParent(async (m) => {
  if (m.type === 'run') return run(String(m.variant), String(m.url), Number(m.concurrency), Number(m.durationMs));
  if (m.type === 'stop') {
    setImmediate(() => process.exit(0));
    return {};
  }
  throw new Error(`unknown request ${String(m.type)}`);
});
process.send?.({ type: 'ready' });
