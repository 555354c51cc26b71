/**
 * Supabase Edge Function: the widget proxy. `mistral-agent-chat/server` is resolved by deno.json (the npm
 * package mistral-agent-chat-server) — never a relative import outside supabase/functions/, which breaks `supabase functions deploy`.
 * Supabase sets SUPABASE_URL, SUPABASE_SECRET_KEYS and SUPABASE_DB_URL; set MISTRAL_API_KEY as a secret.
 */
import { consoleLogger, createApp, createRuntime, ownerApiFor, supabaseClientIp } from 'mistral-agent-chat/server';

type EdgeRuntimeGlobal = { EdgeRuntime?: { waitUntil(promise: Promise<unknown>): void } };
const edge = (globalThis as EdgeRuntimeGlobal).EdgeRuntime;

const log = consoleLogger({ runtime: 'supabase-edge' });
// Once per isolate: the store and upstream are reused by every request this isolate serves.
const runtime = await createRuntime(Deno.env.toObject(), { log, offlineDemo: false });
// The owner API (the console): the project's Supabase Auth tokens, checked against its signing keys, and the
// owner's SQL run by PostgREST as that owner (the platform sets SUPABASE_URL and the publishable/anon key).
const owner = ownerApiFor({ config: runtime.config, storage: 'supabase' }, log);
const { app } = createApp({
  store: runtime.store,
  upstream: runtime.upstream,
  config: runtime.config,
  log,
  basePath: '/mistral-agent-chat',
  // The client's address for the per-IP limit: Supabase's gateway (Cloudflare) sets CF-Connecting-IP and
  // overwrites any value a client sends; X-Forwarded-For there begins with whatever the client wrote.
  // Sources: supabase.com/docs/guides/telemetry/logs ("Allowed headers"), Cloudflare's HTTP headers reference.
  getClientIp: (c) => supabaseClientIp(c.req.raw.headers),
  ...(owner ? { owner } : {}),
  // Lets the reply finish being stored after the response ends.
  ...(edge ? { waitUntil: (p: Promise<unknown>) => edge.waitUntil(p) } : {}),
});

Deno.serve(app.fetch);
