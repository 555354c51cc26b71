/**
 * The offline demo model's Conversations API: `POST …/v1/conversations` answered in process, in Mistral's
 * streaming wire format (conversations-wire.ts), for any agent id. Questions are grounded on this
 * project's own README and docs: a document_library-like search (docs-index.ts) runs first, the answer is
 * an excerpt of the best section, and each matching section is cited as a `tool_reference` chunk, so
 * `npm start` with no key shows real sources. The asks that show what the chat renders (a table, code, a
 * haiku, Markdown, small talk: the demo page's suggested questions) get the chat demo's canned replies
 * (offline-demo-replies.ts), as does a question the docs do not cover. It goes through the same upstream
 * code as Mistral's replies (parsing, sources checks, time limits, abort).
 */
import { loadDocsIndex, type DocHit, type DocsIndex } from './docs-index.ts';
import { excerpt, plainSnippet } from './docs-sections.ts';
import {
  conversationFrames,
  conversationRequestError,
  conversationUsage,
  lastUserInput,
  type ConversationStep,
} from './conversations-wire.ts';
import { demoIntent, offlineDemoReply, type DemoIntent } from './offline-demo-replies.ts';
import { timedStream } from './timed-stream.ts';
import { estimateTokens, EVENT_STREAM_HEADERS } from './wire-format.ts';

export interface GroundedDemoOptions {
  /** Pause between two streamed events (default 15 ms). */
  chunkDelayMs?: number;
  /** Characters per text delta (default 6). */
  chunkSize?: number;
  /** The docs to search (default: the package's README.md and docs/, loaded once on first use). */
  docs?: () => Promise<DocsIndex>;
}

let defaultDocs: Promise<DocsIndex> | undefined;
const packageDocs = () => (defaultDocs ??= loadDocsIndex());

const OFFLINE_NOTE =
  '*Offline demo model: found by a keyword search in this project’s own docs, nothing was sent to Mistral. ' +
  'Set `MISTRAL_API_KEY` and link the agent to a Mistral agent for real answers.*';

/** How a section is named in a source: `README — Security`, `deploy-supabase.md — 5. Deploy the function`. */
export const sourceTitle = (hit: DocHit) => `${hit.section.file.replace(/^docs\//, '').replace(/^README\.md$/, 'README')} — ${hit.section.title}`;

/** Asks answered with a canned reply that shows what the chat renders, without searching the docs. */
const SHOWCASE: ReadonlySet<DemoIntent> = new Set(['markdown', 'table', 'haiku', 'code', 'password', 'books', 'summary', 'help', 'greeting', 'thanks']);
/** …unless they are a question (`How do I deploy the Edge Function?` says "function", yet asks the docs). */
const TOPICAL: ReadonlySet<DemoIntent> = new Set(['code', 'table', 'password', 'summary']);
const QUESTION = /^\s*(how|what|where|why|which|when|who|can|could|does|do|is|are|should|comment|pourquoi|quel|quelle|où|est-ce)\b/i;

/** Whether the chat demo's canned reply answers `question` better than the docs. */
function showcase(question: string): boolean {
  const intent = demoIntent(question);
  return SHOWCASE.has(intent) && !(TOPICAL.has(intent) && QUESTION.test(question));
}

/** What the demo model answers to `question`, as Conversations steps (started … done). */
export function groundedSteps(question: string, docs: DocsIndex, inputs: unknown): ConversationStep[] {
  const query = question.replace(/\s+/g, ' ').trim().slice(0, 500);
  const steps: ConversationStep[] = [{ type: 'started' }];
  const canned = () => {
    const text = offlineDemoReply(question);
    steps.push({ type: 'text', text }, { type: 'done', usage: conversationUsage(inputs, text) });
    return steps;
  };
  if (!query || showcase(question)) return canned();
  steps.push(
    { type: 'tool', name: 'document_library', state: 'started', arguments: JSON.stringify({ query }) },
    { type: 'tool', name: 'document_library', state: 'done', info: {} },
  );
  const hits = docs.search(query, 3);
  if (hits.length === 0) return canned(); // searched, found nothing: the chat demo's answer
  const [best] = hits as [DocHit, ...DocHit[]];
  const quote = `From **${sourceTitle(best)}**:\n\n${excerpt(best.section.body, 700, best.fileUrl, best.terms)}\n\n`;
  steps.push({ type: 'text', text: quote });
  // Cited after the text they support, as Mistral does.
  for (const hit of hits) {
    steps.push({ type: 'reference', tool: 'document_library', title: sourceTitle(hit), url: hit.url, description: plainSnippet(hit.section.body) });
  }
  steps.push({ type: 'text', text: OFFLINE_NOTE });
  const text = quote + OFFLINE_NOTE;
  const searched = hits.reduce((n, h) => n + estimateTokens(h.section.body), 0);
  steps.push({ type: 'done', usage: conversationUsage(inputs, text, searched) });
  return steps;
}

/**
 * Wraps the chat-completions demo fetch: `POST …/v1/conversations` is answered here, anything else by
 * `inner`.
 */
export function withGroundedDemo(inner: typeof fetch, opts: GroundedDemoOptions = {}): typeof fetch {
  const delay = opts.chunkDelayMs ?? 15;
  const docs = opts.docs ?? packageDocs;
  return async (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (!url.endsWith('/v1/conversations') || init?.method !== 'POST') return inner(input, init);
    const signal = init.signal ?? undefined;
    if (signal?.aborted) throw new DOMException('The operation was aborted.', 'AbortError');
    let body: unknown;
    try {
      body = JSON.parse(typeof init.body === 'string' ? init.body : '');
    } catch {
      return Response.json({ detail: 'There was an error parsing the body' }, { status: 400 });
    }
    const invalid = conversationRequestError(body);
    if (invalid) return new Response(invalid, { status: 422, headers: { 'content-type': 'application/json' } });
    const { inputs, agent_id: agentId } = body as { inputs: unknown; agent_id?: unknown };
    const steps = groundedSteps(lastUserInput(inputs), await docs(), inputs);
    const frames = conversationFrames(steps, {
      model: 'offline-demo',
      agentId: typeof agentId === 'string' ? agentId : null,
      chunkSize: opts.chunkSize ?? 6,
    });
    return new Response(timedStream(frames, delay, signal), { status: 200, headers: EVENT_STREAM_HEADERS });
  };
}
