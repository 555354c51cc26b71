/**
 * The offline demo grounded on this project's own docs: how the docs are cut into sections and linked,
 * what the demo model answers in the Conversations wire format, and how the demo agent behaves offline and
 * once a real MISTRAL_API_KEY is set (it must keep answering, not fail every turn).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createParser } from 'eventsource-parser';
import type { HistoryResponse, Source } from '../../src/protocol.ts';
import { createApp } from '../../src/server/app.ts';
import { DEMO_AGENT, ensureDemoAgent } from '../../src/server/data/demo.ts';
import { loadConfig } from '../../src/server/config.ts';
import type { Db } from '../../src/server/db/db.ts';
import { memoryLogger } from '../../src/server/log.ts';
import { SqlStore } from '../../src/server/store/sql-store.ts';
import { DOCS_DEMO_AGENT_ID } from '../../src/server/upstream/builtin-agents.ts';
import { buildDocsIndex, loadDocsIndex, repositoryUrl } from '../../src/server/upstream/docs-index.ts';
import { excerpt, plainSnippet, slugger, splitSections } from '../../src/server/upstream/docs-sections.ts';
import { createMistralUpstream } from '../../src/server/upstream/mistral.ts';
import { createOfflineDemoUpstream } from '../../src/server/upstream/offline-demo.ts';
import { offlineDemoReply } from '../../src/server/upstream/offline-demo-replies.ts';
import type { Upstream, UpstreamRequest } from '../../src/server/upstream/upstream.ts';
import { startMistralStandIn, type MistralStandIn } from '../helpers/mistral-stand-in.ts';
import { migratedPglite } from '../helpers/pglite.ts';

const DOC = [
  '# my-widget',
  '',
  'An intro paragraph.',
  '',
  '<img src="docs/shot.png" alt="screenshot">',
  '',
  '## Quick start',
  '',
  'Run it:',
  '',
  '```sh',
  '# not a heading: a shell comment',
  'npm start',
  '```',
  '',
  '## Theming & colours (CSS) ☁',
  '',
  'Set `--mistral-chat-accent` to change the accent colour. See [the deploy guide](docs/deploy.md) and ![logo](logo.png).',
  '',
  '### Dark mode',
  '',
  'The widget follows `prefers-color-scheme`.',
  '',
  '## Quick start',
  '',
  'A second section with the same heading.',
].join('\n');

describe('the docs, cut into sections', () => {
  it('gives one section per heading with GitHub’s anchors, nested titles, and no heading inside code or HTML', () => {
    const sections = splitSections('README.md', DOC);
    assert.deepEqual(
      sections.map((s) => [s.title, s.slug]),
      [
        ['my-widget', 'my-widget'],
        ['Quick start', 'quick-start'],
        ['Theming & colours (CSS) ☁', 'theming--colours-css-'],
        ['Theming & colours (CSS) ☁ › Dark mode', 'dark-mode'],
        ['Quick start', 'quick-start-1'],
      ],
    );
    assert.match(sections[1]!.body, /# not a heading: a shell comment\nnpm start/);
    assert.doesNotMatch(sections[0]!.body, /<img/);
  });

  it('makes anchors as GitHub does', () => {
    const slug = slugger();
    assert.equal(slug('Using the element'), 'using-the-element');
    assert.equal(slug('`npm start` & friends!'), 'npm-start--friends');
    assert.equal(slug('1. Create and link a project ☁'), '1-create-and-link-a-project-');
    assert.equal(slug('Ça marche, déjà'), 'ça-marche-déjà');
    assert.equal(slug('Using the element'), 'using-the-element-1');
  });

  it('quotes a section from its most relevant paragraph, never cutting a code block, with links made absolute', () => {
    const [, quick, theming] = splitSections('README.md', DOC);
    assert.equal(excerpt(quick!.body, 80, null), 'Run it:\n\n```sh\n# not a heading: a shell comment\nnpm start\n```');
    assert.equal(excerpt(quick!.body, 20, null), 'Run it:', 'a code block that does not fit is left out, not cut');
    const withBase = excerpt(theming!.body, 500, 'https://github.com/o/r/blob/HEAD/README.md', ['accent']);
    assert.match(withBase, /\[the deploy guide\]\(https:\/\/github\.com\/o\/r\/blob\/HEAD\/docs\/deploy\.md\)/);
    assert.match(withBase, / logo\./, 'an image becomes its alt text');
    assert.match(excerpt(theming!.body, 500, null), /See the deploy guide and logo\./, 'no base: link text only');
    assert.equal(plainSnippet('Set `--mistral-chat-accent`, the **accent**, see [guide](x).\n\n```sh\nnpm i\n```'), 'Set --mistral-chat-accent, the accent, see guide.');
  });

  it('reads the repository URL from package.json in its usual forms', () => {
    assert.equal(repositoryUrl({ repository: 'github:acme/widget' }), 'https://github.com/acme/widget');
    assert.equal(repositoryUrl({ repository: 'acme/widget' }), 'https://github.com/acme/widget');
    assert.equal(repositoryUrl({ repository: { type: 'git', url: 'git+https://github.com/acme/widget.git' } }), 'https://github.com/acme/widget');
    assert.equal(repositoryUrl({ repository: { url: 'git@github.com:acme/widget.git' } }), 'https://github.com/acme/widget');
    assert.equal(repositoryUrl({ homepage: 'https://github.com/acme/widget#readme' }), 'https://github.com/acme/widget');
    assert.equal(repositoryUrl({}), null);
    assert.equal(repositoryUrl({ repository: 'javascript:alert(1)' }), null);
  });

  it('finds sections by their words and links them to the repository', () => {
    const idx = buildDocsIndex(
      [...splitSections('README.md', DOC), ...splitSections('docs/deploy.md', '# Deploy\n\n## Supabase\n\nDeploy the Edge Function with supabase functions deploy.')],
      'https://github.com/acme/widget',
    );
    const [hit] = idx.search('How do I change the accent colour?');
    assert.equal(hit?.section.title, 'Theming & colours (CSS) ☁');
    assert.equal(hit?.url, 'https://github.com/acme/widget#theming--colours-css-');
    const [deploy] = idx.search('deploy on supabase');
    assert.equal(deploy?.url, 'https://github.com/acme/widget/blob/HEAD/docs/deploy.md#supabase');
    assert.deepEqual(idx.search('what is the weather in Paris'), [], 'a question beside the docs finds nothing');
    const [noRepo] = buildDocsIndex(splitSections('README.md', DOC), null).search('How do I change the accent colour?');
    assert.equal(noRepo?.section.title, 'Theming & colours (CSS) ☁');
    assert.equal(noRepo?.url, null, 'no repository: no URL');
  });

  it('indexes this package’s own README and docs', async () => {
    const idx = await loadDocsIndex();
    const titles = idx.sections.map((s) => `${s.file} ${s.title}`);
    for (const t of ['README.md Quick start', 'README.md Security', 'README.md Command line']) assert.ok(titles.includes(t), t);
    assert.ok(titles.some((t) => t.startsWith('docs/deploy-supabase.md')));
    assert.equal(idx.search('How do I deploy the Edge Function on Supabase?')[0]?.section.file, 'docs/deploy-supabase.md');
  });
});

// ---------------------------------------------------------------------------------------------------------

async function drain(up: Upstream, req: UpstreamRequest) {
  const gen = up.stream(req, { signal: new AbortController().signal, requestId: 'r' });
  let text = '';
  const sources: Source[] = [];
  const activity: string[] = [];
  for (;;) {
    const n = await gen.next();
    if (n.done) return { text, sources, activity, result: n.value };
    if (typeof n.value === 'string') text += n.value;
    else if (n.value.type === 'source') sources.push(n.value.source);
    else activity.push(`${n.value.tool}:${n.value.state}`);
  }
}

const grounded = (q: string): UpstreamRequest => ({ model: 'm', messages: [{ role: 'system', content: 'x' }, { role: 'user', content: q }], agentId: DOCS_DEMO_AGENT_ID });

describe('the offline demo model, grounded', () => {
  it('answers a question about the project from its docs, in the Conversations wire format, citing the sections', async () => {
    const r = await drain(createOfflineDemoUpstream({ chunkDelayMs: 0 }), grounded('How do I deploy the Edge Function on Supabase?'));
    assert.deepEqual(r.activity, ['document_library:started', 'document_library:done']);
    assert.match(r.text, /^From \*\*deploy-supabase\.md — /);
    assert.match(r.text, /supabase functions deploy/);
    assert.match(r.text, /Offline demo model/);
    assert.ok(r.sources.length >= 1 && r.sources.length <= 3);
    assert.ok(r.sources.every((s, i) => s.id === String(i + 1) && s.title.includes(' — ') && s.snippet));
    assert.equal(r.result.finishReason, 'stop');
    assert.ok((r.result.promptTokens ?? 0) > (r.result.completionTokens ?? 0), 'the searched sections count as prompt tokens');
  });

  it('links the sections when the package names its repository', async () => {
    const docs = async () =>
      buildDocsIndex(splitSections('README.md', DOC), 'https://github.com/acme/widget');
    const { withGroundedDemo } = await import('../../src/server/upstream/offline-conversations.ts');
    const up = createMistralUpstream({
      apiKey: 'offline-demo',
      baseUrl: 'http://offline-demo.invalid',
      timeouts: { firstByteMs: 5_000, idleMs: 5_000, totalMs: 10_000 },
      retries: { max: 0, maxDelayMs: 0 },
      log: memoryLogger(),
      fetch: withGroundedDemo(() => Promise.reject(new Error('not for chat completions')), { chunkDelayMs: 0, docs }),
      localAgentIds: new Set(),
    });
    const r = await drain(up, grounded('change the accent colour'));
    assert.equal(r.sources[0]?.url, 'https://github.com/acme/widget#theming--colours-css-');
  });

  it('searches, then answers a question beside the docs with the chat demo’s reply, citing nothing', async () => {
    const r = await drain(createOfflineDemoUpstream({ chunkDelayMs: 0 }), grounded('What is the weather in Paris today?'));
    assert.deepEqual(r.activity, ['document_library:started', 'document_library:done']);
    assert.equal(r.text, offlineDemoReply('What is the weather in Paris today?'));
    assert.deepEqual(r.sources, []);
  });

  it('answers the demo page’s “show me what the chat renders” asks with the chat demo’s replies, without a search', async () => {
    for (const ask of ['Write a haiku about PostgreSQL', 'Show me a JavaScript snippet', 'Compare the databases in a table', 'What can you do?', 'Bonjour !']) {
      const r = await drain(createOfflineDemoUpstream({ chunkDelayMs: 0 }), grounded(ask));
      assert.equal(r.text, offlineDemoReply(ask), ask);
      assert.deepEqual([r.activity, r.sources], [[], []], ask);
    }
  });

  it('still answers agents without a mistral_agent_id with the chat-completions demo', async () => {
    const r = await drain(createOfflineDemoUpstream({ chunkDelayMs: 0 }), { model: 'm', messages: [{ role: 'user', content: 'Hi' }] });
    assert.ok(r.text.length > 0);
    assert.deepEqual(r.sources, []);
    assert.deepEqual(r.activity, []);
  });
});

// ---------------------------------------------------------------------------------------------------------

describe('the demo agent, offline and then with a real key', () => {
  let db: Db;
  let store: SqlStore;
  let standIn: MistralStandIn;
  let apiKey: string;
  before(async () => {
    db = await migratedPglite();
    store = new SqlStore(db);
    standIn = await startMistralStandIn();
    const { agent, created } = await ensureDemoAgent(db);
    assert.equal(created, true);
    apiKey = agent!.api_key;
  });
  after(async () => {
    await store?.close();
    await standIn?.close();
  });

  const turn = async (upstream: Upstream, sessionId: string, message: string) => {
    const { app } = createApp({ store, upstream, config: { ...loadConfig({}), retries: { max: 0, maxDelayMs: 0 } }, log: memoryLogger() });
    const res = await app.request('/v1/chat', { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Api-Key': apiKey }, body: JSON.stringify({ session_id: sessionId, message }) });
    const events: { event: string; data: Record<string, unknown> }[] = [];
    const parser = createParser({ onEvent: (e) => events.push({ event: e.event ?? 'message', data: JSON.parse(e.data) }) });
    parser.feed(await res.text());
    const history = (await (await app.request(`/v1/sessions/${sessionId}/messages`, { headers: { 'X-Api-Key': apiKey } })).json()) as HistoryResponse;
    return { events, history: history.messages };
  };

  it('is created grounded on the built-in docs', async () => {
    assert.equal(DEMO_AGENT.mistral_agent_id, DOCS_DEMO_AGENT_ID);
    const { rows } = await db.query<{ mistral_agent_id: string }>('select mistral_agent_id from public.agents');
    assert.deepEqual(rows.map((r) => r.mistral_agent_id), [DOCS_DEMO_AGENT_ID]);
  });

  it('offline: answers with sources, stored and restored with the history', async () => {
    const sessionId = `sess_${randomUUID().replaceAll('-', '')}`;
    const { events, history } = await turn(createOfflineDemoUpstream({ chunkDelayMs: 0 }), sessionId, 'How do I set the rate limits?');
    assert.equal(events.at(-1)?.event, 'done');
    const cited = events.filter((e) => e.event === 'sources').flatMap((e) => e.data.sources as Source[]);
    assert.ok(cited.length > 0, 'sources events');
    assert.deepEqual(history.at(-1)?.sources, cited);
  });

  it('with a real key: answers through chat completions with its own instructions, never a failing call to an agent Mistral does not know', async () => {
    const log = memoryLogger();
    const upstream = createMistralUpstream({ apiKey: 'real-key', baseUrl: standIn.url, timeouts: loadConfig({}).timeouts, retries: { max: 0, maxDelayMs: 0 }, log });
    for (let i = 0; i < 2; i++) {
      const { events } = await turn(upstream, `sess_${randomUUID().replaceAll('-', '')}`, 'Hello');
      assert.equal(events.at(-1)?.event, 'done', JSON.stringify(events.at(-1)));
    }
    assert.deepEqual(standIn.requests.map((r) => r.path), ['/v1/chat/completions', '/v1/chat/completions']);
    const body = standIn.requests[0]!.body as { messages: { role: string; content: string }[] };
    assert.equal(body.messages[0]?.content, DEMO_AGENT.instructions);
    assert.equal(log.lines.filter((l) => /built-in demo agent/.test(l.msg)).length, 1, 'said once, with the fix');
    assert.match(log.lines.find((l) => /built-in demo agent/.test(l.msg))!.msg, /agent link-mistral/);
  });
});
