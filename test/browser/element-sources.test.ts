/**
 * Sources under a reply and the tool activity line, through the real element and a streamed fake proxy:
 * live and from history, in English and French, keyboard- and screen-reader-friendly, and inert whatever
 * the titles and URLs say.
 */
import { expect, fixture, html, waitUntil } from '@open-wc/testing';
import '../../src/define.ts';
import type { MistralAgentChat } from '../../src/index.ts';
import type { Source } from '../../src/protocol.ts';
import { ENDPOINT, FakeProxy, KEY, frames, once } from './fake-proxy.ts';

const root = (el: MistralAgentChat) => el.shadowRoot!;
const $ = <T extends Element = HTMLElement>(el: MistralAgentChat, sel: string) => root(el).querySelector<T>(sel);
const all = (el: MistralAgentChat, sel: string) => [...root(el).querySelectorAll<HTMLElement>(sel)];

async function chat(lang = 'en') {
  const el = await fixture<MistralAgentChat>(
    html`<div style="height:500px"><mistral-agent-chat mode="inline" lang=${lang} api-key=${KEY} endpoint=${ENDPOINT}></mistral-agent-chat></div>`,
  ).then((d) => d.firstElementChild as MistralAgentChat);
  await waitUntil(() => $(el, '[aria-busy=false]'), 'history loaded');
  return el;
}

const HANDBOOK: Source = { id: '1', title: 'Employee handbook', url: 'https://www.docs.example/handbook#leave', snippet: 'Leave, remote work and equipment.' };
const POLICY: Source = { id: '2', title: 'Remote-Work-Policy-2026.pdf' };

describe('<mistral-agent-chat> sources', () => {
  let proxy: FakeProxy;
  beforeEach(() => {
    localStorage.clear();
    proxy = new FakeProxy();
  });
  afterEach(() => proxy.restore());

  it('lists the sources under the reply as they arrive: numbered links with their domain, plain text without a URL', async () => {
    const el = await chat();
    const next = proxy.nextReply();
    const sent = el.send('How much equipment allowance?');
    const reply = await next;
    reply.start();
    reply.delta('Up to €500 a year');
    reply.event('sources', { sources: [HANDBOOK] });
    await frames();
    expect(all(el, '[part~=source]').length, 'shown live, while the reply streams').to.equal(1);
    reply.delta(', receipts within 30 days.');
    reply.event('sources', { sources: [POLICY] });
    const response = once(el, 'mistral-chat-response');
    reply.done('msg_1');
    const ev = await response;
    await sent;
    expect(ev.sources).to.deep.equal([HANDBOOK, POLICY]);

    const list = $(el, '[part~=message-assistant] [part~=sources] ol')!;
    expect(list.getAttribute('aria-label')).to.equal('Sources');
    const items = all(el, '[part~=source]');
    expect(items.length).to.equal(2);
    const link = items[0]!.querySelector('a')!;
    expect(link.getAttribute('href')).to.equal('https://www.docs.example/handbook#leave');
    expect(link.getAttribute('target')).to.equal('_blank');
    expect(link.getAttribute('rel')).to.equal('noopener noreferrer');
    expect(link.textContent).to.equal('Employee handbook');
    expect(items[0]!.textContent).to.contain('docs.example').and.contain('Leave, remote work and equipment.');
    expect(items[1]!.querySelector('a')).to.equal(null);
    expect(items[1]!.textContent!.trim()).to.equal('Remote-Work-Policy-2026.pdf');
    // Reachable with the keyboard like any link.
    link.focus();
    expect(root(el).activeElement).to.equal(link);
    await expect(el).to.be.accessible();
  });

  it('keeps sources cited before the first words and shows what the agent is doing meanwhile', async () => {
    const el = await chat();
    const next = proxy.nextReply();
    const sent = el.send('Search please');
    const reply = await next;
    reply.start();
    reply.event('activity', { tool: 'document_library', state: 'started' });
    await waitUntil(() => $(el, '[part~=typing]')?.textContent?.includes('Searching the documentation…'), 'activity shown');
    reply.event('activity', { tool: 'document_library', state: 'done' });
    reply.event('sources', { sources: [POLICY] });
    await waitUntil(() => !$(el, '[part~=typing]')?.textContent?.includes('Searching'), 'activity cleared');
    expect($(el, '[part~=typing]'), 'still waiting for words').to.not.equal(null);
    reply.event('activity', { tool: 'web_search', state: 'started' });
    await waitUntil(() => $(el, '[part~=typing]')?.textContent?.includes('Searching the web…'));
    reply.event('activity', { tool: 'future_tool', state: 'started' });
    await waitUntil(() => $(el, '[part~=typing]')?.textContent?.includes('Looking into it…'));
    reply.delta('Found it.');
    reply.done();
    await sent;
    expect(all(el, '[part~=source]').map((s) => s.textContent!.trim())).to.deep.equal(['Remote-Work-Policy-2026.pdf']);
  });

  it('restores the sources with the history, in French', async () => {
    proxy.history = [
      { id: 'u1', role: 'user', content: 'Combien ?', created_at: '2025-01-01T00:00:00Z' },
      { id: 'a1', role: 'assistant', content: 'Jusqu’à 500 €.', created_at: '2025-01-01T00:00:01Z', sources: [HANDBOOK, POLICY] },
      { id: 'a2', role: 'assistant', content: 'Sans source.', created_at: '2025-01-01T00:00:02Z' },
    ];
    const el = await chat('fr');
    await waitUntil(() => all(el, '[part~=source]').length === 2, 'sources restored');
    expect(all(el, '[part~=sources]').length, 'only under the reply that cites').to.equal(1);
    expect($(el, '[part~=sources] ol')!.getAttribute('aria-label')).to.equal('Sources');
    const next = proxy.nextReply();
    void el.send('Et encore ?');
    const reply = await next;
    reply.start();
    reply.event('activity', { tool: 'document_library', state: 'started' });
    await waitUntil(() => $(el, '[part~=typing]')?.textContent?.includes('Recherche dans la documentation…'));
    reply.reply('Oui.');
    await expect(el).to.be.accessible();
  });

  it('renders hostile titles and snippets as text and links only absolute http(s) URLs', async () => {
    const el = await chat();
    const hostile: Source[] = [
      { id: '1', title: '<img src=x onerror="window.__pwned=1">Title', url: 'javascript:window.__pwned=1', snippet: '<script>window.__pwned=1</script>' },
      { id: '2', title: 'Data', url: 'data:text/html,<script>alert(1)</script>' },
      { id: '3', title: 'Protocol-relative', url: '//evil.example/x' },
      { id: '4', title: 'Relative', url: '/admin' },
      { id: '5', title: 'Bad scheme spacing', url: 'http:/evil.example' },
      { id: '6', title: '"><svg onload=alert(1)>', url: 'https://ok.example/?q="><svg onload=alert(1)>' },
    ];
    const next = proxy.nextReply();
    const sent = el.send('x');
    const reply = await next;
    reply.start();
    reply.delta('Reply.');
    reply.event('sources', { sources: hostile });
    reply.done();
    await sent;
    const items = all(el, '[part~=source]');
    expect(items.length).to.equal(hostile.length);
    hostile.forEach((src, i) => expect(items[i]!.textContent, `title ${i + 1} as text`).to.contain(src.title));
    expect($(el, '[part~=sources] img, [part~=sources] script, [part~=sources] svg')).to.equal(null);
    const links = all(el, '[part~=sources] a');
    expect(links.length, 'only the https source is a link').to.equal(1);
    expect(new URL(links[0]!.getAttribute('href')!).origin).to.equal('https://ok.example');
    expect((window as { __pwned?: unknown }).__pwned).to.equal(undefined);
  });

  it('drops a malformed sources or activity event and still finishes the reply', async () => {
    const el = await chat();
    const next = proxy.nextReply();
    const sent = el.send('x');
    const reply = await next;
    reply.start();
    reply.raw('event: sources\ndata: not json\n\n');
    reply.event('sources', { sources: [{ id: 1, title: 'numeric id' }, { id: '2' }, 'nope', POLICY] });
    reply.event('activity', { tool: 'document_library', state: 'exploded' });
    reply.delta('Done.');
    reply.done();
    await sent;
    expect(all(el, '[part~=source]').map((s) => s.textContent!.trim())).to.deep.equal([POLICY.title]);
    expect($(el, '[part~=error]')).to.equal(null);
  });
});
