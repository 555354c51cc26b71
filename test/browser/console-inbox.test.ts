import { expect, waitUntil } from '@open-wc/testing';
import { $, $$, answerDialog, find, frames, openAgent, signedIn, statusSays, text, type } from './console-helpers.ts';
import { FakeOwnerApi, apiError } from './fake-owner-api.ts';

const minutesAgo = (n: number) => new Date(Date.now() - n * 60_000);

describe('<mistral-agent-console> conversations', () => {
  let api: FakeOwnerApi;
  beforeEach(() => {
    sessionStorage.clear();
    api = new FakeOwnerApi();
  });
  afterEach(() => {
    api.restore();
    delete (window as { pwned?: boolean }).pwned;
  });

  const rows = (el: HTMLElement) => [...el.shadowRoot!.querySelectorAll<HTMLButtonElement>('[part=conversation]')];

  it('lists conversations latest activity first, with message count, last message and who', async () => {
    const a = api.addAgent();
    api.addConversation(a.id, ['Old question', 'Old answer'], minutesAgo(90));
    api.addConversation(a.id, ['Where is my order?', 'It ships tomorrow.', 'Thanks!'], minutesAgo(5), { user_ref: 'user-42' });
    api.addConversation(a.id, ['Hello'], minutesAgo(30), { visitor_id: null });
    const el = await signedIn();
    await openAgent(el, a.id, 'conversations');
    await waitUntil(() => rows(el).length === 3);
    const [first, second, third] = rows(el).map((r) => r.textContent!.replace(/\s+/g, ' ').trim());
    expect(first).to.contain('User user-42').and.contain('Visitor: Thanks!').and.contain('3 messages');
    expect(second).to.contain('Anonymous visitor').and.contain('Visitor: Hello').and.contain('1 message');
    expect(third).to.contain('Visitor vis_0000').and.contain('Agent: Old answer').and.contain('2 messages');
    const [call] = api.callsTo('GET', /\/conversations$/);
    expect(call!.url.searchParams.get('limit')).to.equal('25');
    expect(call!.url.searchParams.has('before')).to.equal(false);
    await expect(el).to.be.accessible();
  });

  it('pages through older conversations with the next cursor', async () => {
    const a = api.addAgent();
    for (let i = 0; i < 30; i++) api.addConversation(a.id, [`Question ${i}`, `Answer ${i}`], minutesAgo(i));
    const el = await signedIn();
    await openAgent(el, a.id, 'conversations');
    await waitUntil(() => rows(el).length === 25);
    expect(rows(el)[0]!.textContent).to.contain('Answer 0');
    const more = $<HTMLButtonElement>(el, 'button.more')!;
    expect(more.textContent!.trim()).to.equal('Load older conversations');
    more.click();
    await waitUntil(() => rows(el).length === 30);
    await statusSays(el, '5 more conversations loaded.');
    const calls = api.callsTo('GET', /\/conversations$/);
    expect(calls[1]!.url.searchParams.get('before')).to.be.a('string').with.length.above(0);
    expect(rows(el).at(-1)!.textContent).to.contain('Answer 29');
    expect(new Set(rows(el).map((r) => r.dataset.id)).size).to.equal(30);
    expect($(el, 'button.more')).to.equal(null);
  });

  it('searches in messages, says how many were found, and clears the search', async () => {
    const a = api.addAgent();
    api.addConversation(a.id, ['Do you ship to Canada?', 'Yes, in 5 days.'], minutesAgo(1));
    api.addConversation(a.id, ['Refund please', 'Sure.'], minutesAgo(2));
    const el = await signedIn();
    await openAgent(el, a.id, 'conversations');
    await waitUntil(() => rows(el).length === 2);
    const q = $<HTMLInputElement>(el, '#inbox-q')!;
    expect($(el, 'form[role=search] label')!.textContent).to.equal('Search in messages');
    q.value = 'canada';
    $<HTMLButtonElement>(el, 'form[role=search] button[type=submit]')!.click();
    await waitUntil(() => rows(el).length === 1);
    expect(api.callsTo('GET', /\/conversations$/).at(-1)!.url.searchParams.get('q')).to.equal('canada');
    await statusSays(el, '1 conversation found.');
    q.value = 'zebra';
    $<HTMLButtonElement>(el, 'form[role=search] button[type=submit]')!.click();
    await waitUntil(() => text(el, '.empty') === 'No conversation matches “zebra”.');
    const clear = [...el.shadowRoot!.querySelectorAll<HTMLButtonElement>('form[role=search] button')].find((b) => b.textContent === 'Clear search')!;
    clear.click();
    await waitUntil(() => rows(el).length === 2);
    expect(api.callsTo('GET', /\/conversations$/).at(-1)!.url.searchParams.has('q')).to.equal(false);
    expect(el.shadowRoot!.activeElement?.id).to.equal('inbox-q');
  });

  it('renders a transcript with the widget\'s markdown renderer, sources, figures and feedback', async () => {
    const a = api.addAgent();
    const c = api.addConversation(
      a.id,
      ['How do I install it?', '## Install\n\nRun:\n\n```sh\nnpm install mistral-agent-chat\n```\n\n- fast\n- **safe**', 'Thanks *a lot*'],
      minutesAgo(3),
      { user_ref: 'user-7', metadata: { page_url: 'https://shop.example.com/help' } },
      [
        {},
        {
          sources: [
            { id: 'doc1', title: 'Install guide', url: 'https://docs.example.com/install', snippet: 'npm install …' },
            { id: 'doc2', title: 'Internal handbook' },
          ],
          feedback: { rating: 'up', comment: 'Clear answer' },
          tokens_used: 1234,
          response_time_ms: 2300,
        },
      ],
    );
    const el = await signedIn();
    await openAgent(el, a.id, 'conversations');
    await waitUntil(() => rows(el).length === 1);
    rows(el)[0]!.focus();
    rows(el)[0]!.click();
    await find(el, '.transcript-messages');
    expect(el.shadowRoot!.activeElement?.id).to.equal('transcript-h');
    expect(api.callsTo('GET', /^\/v1\/owner\/conversations\//)[0]!.url.pathname).to.equal(`/v1/owner/conversations/${c.id}`);
    const msgs = $$(el, '[part=transcript-message]');
    expect(msgs).to.have.length(3);
    // the visitor's text stays text, the agent's reply is Markdown
    expect(msgs[2]!.querySelector('.text')!.textContent).to.equal('Thanks *a lot*');
    const md = msgs[1]!.querySelector('[part=markdown]')!;
    expect(md.querySelector('h2')!.textContent).to.equal('Install');
    expect(md.querySelector('[part=code-block] code')!.textContent).to.equal('npm install mistral-agent-chat\n');
    expect([...md.querySelectorAll('li')].map((li) => li.textContent)).to.deep.equal(['fast', 'safe']);
    const links = [...msgs[1]!.querySelectorAll<HTMLAnchorElement>('[part=source] a')];
    expect(links.map((l) => [l.textContent, l.href, l.rel])).to.deep.equal([['Install guide', 'https://docs.example.com/install', 'noopener noreferrer']]);
    expect(msgs[1]!.querySelectorAll('[part=source]')[1]!.textContent!.trim()).to.equal('Internal handbook');
    expect(msgs[1]!.querySelector('.msg-meta')!.textContent!.replace(/\s+/g, ' ').trim()).to.equal('1,234 tokens · 2.3 s');
    expect(text(el, '[part=feedback]')).to.contain('Rated helpful').and.contain('Comment: Clear answer');
    expect(text(el, '[part=transcript-meta]')).to.contain('user-7').and.contain('https://shop.example.com/help');
    await expect(el).to.be.accessible();
    // back to the list, focus on the row it came from
    $<HTMLButtonElement>(el, 'button.back')!.click();
    await waitUntil(() => el.shadowRoot!.activeElement === rows(el)[0]);
  });

  it('renders hostile content inert: no script, no handler, no javascript: link', async () => {
    const a = api.addAgent();
    api.addConversation(
      a.id,
      [
        '<img src=x onerror="window.pwned=true"><script>window.pwned=true</script>',
        '<img src=x onerror="window.pwned=true">\n\n[click](javascript:window.pwned=true)\n\n<a href="javascript:window.pwned=true">raw</a>\n\n<svg onload="window.pwned=true"></svg>\n\n<iframe src="javascript:window.pwned=true"></iframe>',
      ],
      minutesAgo(1),
      { metadata: { page_url: 'javascript:window.pwned=true' } },
      [{}, { sources: [{ id: 's', title: 'evil', url: 'javascript:window.pwned=true' }], feedback: 'down' }],
    );
    const el = await signedIn();
    await openAgent(el, a.id, 'conversations');
    await waitUntil(() => rows(el).length === 1);
    rows(el)[0]!.click();
    const list = await find(el, '.transcript-messages');
    await frames();
    await new Promise((r) => setTimeout(r, 50));
    expect((window as { pwned?: boolean }).pwned).to.equal(undefined);
    const transcript = $(el, '[part=transcript]')!;
    expect(transcript.querySelectorAll('script, img, iframe, [onerror], [onload]')).to.have.length(0);
    expect(transcript.querySelectorAll('.transcript-messages .text svg, [part=markdown] svg, [part=sources] svg')).to.have.length(0);
    // a refused URL leaves a link without href (text only)
    for (const link of transcript.querySelectorAll('a')) expect(link.getAttribute('href') ?? 'https:').to.match(/^https?:/);
    expect(transcript.querySelector('[part=source]')!.textContent!.trim()).to.equal('evil');
    // the visitor's raw HTML is shown as text
    expect(list.querySelector('.msg-user .text')!.textContent).to.contain('<script>');
    expect(text(el, '[part=feedback]')).to.contain('Rated unhelpful');
  });

  it('erases a conversation after a confirmation, and the statistics follow', async () => {
    const a = api.addAgent();
    api.addConversation(a.id, ['Keep me', 'ok'], minutesAgo(1));
    const gone = api.addConversation(a.id, ['Erase me', 'ok', 'bye'], minutesAgo(2));
    const el = await signedIn();
    await openAgent(el, a.id, 'statistics');
    await find(el, '[part=figures]');
    expect(text(el, '[part=figures] .figure:first-child dd')).to.equal('2');
    $<HTMLButtonElement>(el, '#tab-conversations')!.click();
    await waitUntil(() => rows(el).length === 2);
    rows(el)[1]!.click();
    (await find<HTMLButtonElement>(el, 'button.erase')).click();
    await find(el, '#confirm[open]');
    expect(text(el, '#dlg-h')).to.equal('Erase this conversation?');
    expect(text(el, '#dlg-b')).to.equal('Its 3 messages are erased for good, and the statistics no longer count them.');
    await answerDialog(el, 'cancel');
    expect(api.callsTo('DELETE', /conversations/)).to.have.length(0);
    $<HTMLButtonElement>(el, 'button.erase')!.click();
    await answerDialog(el, 'confirm');
    await statusSays(el, 'Conversation erased.');
    expect(api.callsTo('DELETE', /conversations/)[0]!.url.pathname).to.equal(`/v1/owner/conversations/${gone.id}`);
    await waitUntil(() => rows(el).length === 1);
    expect(rows(el)[0]!.textContent).to.contain('ok');
    expect(el.shadowRoot!.activeElement?.id).to.equal('inbox-h');
    $<HTMLButtonElement>(el, '#tab-statistics')!.click();
    await waitUntil(() => text(el, '[part=figures] .figure:first-child dd') === '1', 'statistics read again');
  });

  it('says a conversation no longer exists (404), and that a failed load can be understood', async () => {
    const a = api.addAgent();
    const c = api.addConversation(a.id, ['Hi'], minutesAgo(1));
    const el = await signedIn();
    await openAgent(el, a.id, 'conversations');
    await waitUntil(() => rows(el).length === 1);
    api.conversations = api.conversations.filter((x) => x !== c);
    rows(el)[0]!.click();
    const alert = await find(el, '.transcript [role=alert]');
    expect(alert.textContent).to.equal('This conversation no longer exists: it was erased, or purged by the retention setting.');
    $<HTMLButtonElement>(el, 'button.back')!.click();
    api.once('GET', /\/conversations$/, apiError(429, 'rate_limited', 'slow down', {}, { 'Retry-After': '12' }));
    const q = await find<HTMLInputElement>(el, '#inbox-q');
    type(q, 'x');
    $<HTMLButtonElement>(el, 'form[role=search] button[type=submit]')!.click();
    await waitUntil(() => text(el, '[role=alert]') === 'Too many requests. Wait 12 seconds, then try again.');
  });

  it('is accessible in light and dark, list and transcript', async () => {
    const a = api.addAgent();
    api.addConversation(a.id, ['Hi', '**Hello** [docs](https://docs.example.com)\n\n| a | b |\n|---|---|\n| 1 | 2 |'], minutesAgo(1), {}, [
      {},
      { sources: [{ id: '1', title: 'Docs', url: 'https://docs.example.com' }], feedback: { rating: 'down', comment: 'meh' } },
    ]);
    for (const theme of ['light', 'dark']) {
      sessionStorage.clear();
      const el = await signedIn({ theme });
      await openAgent(el, a.id, 'conversations');
      await waitUntil(() => rows(el).length === 1);
      await expect(el).to.be.accessible();
      rows(el)[0]!.click();
      await find(el, '.transcript-messages');
      await expect(el).to.be.accessible();
      el.remove();
    }
  });
});
