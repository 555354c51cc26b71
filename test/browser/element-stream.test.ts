import { expect, fixture, html, waitUntil } from '@open-wc/testing';
import '../../src/define.ts';
import type { MistralAgentChat } from '../../src/index.ts';
import { renderMarkdown } from '../../src/markdown/render.ts';
import { ERROR_STATUS, LIMITS, type ErrorCode } from '../../src/protocol.ts';
import { ENDPOINT, FakeProxy, KEY, errorBody, frames, json, once } from './fake-proxy.ts';

const root = (el: MistralAgentChat) => el.shadowRoot!;
const $ = <T extends Element = HTMLElement>(el: MistralAgentChat, sel: string) => root(el).querySelector<T>(sel);
const all = (el: MistralAgentChat, sel: string) => [...root(el).querySelectorAll<HTMLElement>(sel)];
const texts = (el: MistralAgentChat) => all(el, '[part~=message]:not([part~=welcome], [part~=typing])').map((m) => m.textContent!.trim());

async function chat(attrs: { allowImages?: boolean } = {}) {
  const el = await fixture<MistralAgentChat>(
    html`<div style="height:500px">
      <mistral-agent-chat mode="inline" api-key=${KEY} endpoint=${ENDPOINT} ?allow-images=${attrs.allowImages}></mistral-agent-chat>
    </div>`,
  ).then((d) => d.firstElementChild as MistralAgentChat);
  await waitUntil(() => !all(el, '[part~=message]:not([part~=welcome])').length && $(el, '[aria-busy=false]'), 'history loaded');
  return el;
}

/** Types into the composer and presses Enter, like a visitor. */
function type(el: MistralAgentChat, text: string) {
  const input = $<HTMLTextAreaElement>(el, '[part~=input]')!;
  input.value = text;
  input.dispatchEvent(new Event('input'));
  input.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true, composed: true, cancelable: true }));
}

describe('<mistral-agent-chat> conversation', () => {
  let proxy: FakeProxy;
  beforeEach(() => {
    localStorage.clear();
    proxy = new FakeProxy();
  });
  afterEach(() => proxy.restore());

  it('shows the user bubble at once, a typing indicator until the first words, then streams the reply', async () => {
    const el = await chat();
    el.metadata = { plan: 'pro' };
    const next = proxy.nextReply();
    type(el, 'Hello <b>there</b>');
    await el.updateComplete;
    expect(texts(el)).to.deep.equal(['Hello <b>there</b>']);
    expect($(el, '[part~=message-user] b')).to.equal(null, 'user text is never HTML');
    expect($(el, '[part~=typing]')).to.not.equal(null);
    expect($(el, '[part~=stop]')).to.not.equal(null);

    const reply = await next;
    expect(reply.body.message).to.equal('Hello <b>there</b>');
    expect(reply.body.session_id).to.match(LIMITS.idPattern);
    expect(reply.body.visitor_id).to.match(LIMITS.idPattern);
    expect(reply.body.metadata).to.include({ plan: 'pro', page_url: location.href, language: navigator.language });
    expect(reply.body.metadata).to.have.keys('plan', 'page_url', 'referrer', 'language', 'time_zone', 'viewport');

    reply.start();
    reply.delta('Bonjour, ');
    await frames();
    expect($(el, '[part~=typing]')).to.equal(null);
    expect($(el, '[part~=messages]')!.getAttribute('aria-busy')).to.equal('true');
    reply.delta('**monde**');
    await frames();
    expect($(el, '[part~=message-assistant] strong')?.textContent).to.equal('monde');
    expect($(el, '.sr[aria-live=polite]')!.textContent).to.equal('', 'nothing announced while streaming');

    const response = once(el, 'mistral-chat-response');
    reply.done('msg_42', 17);
    const ev = await response;
    expect([ev.id, ev.text, ev.tokens_used]).to.deep.equal(['msg_42', 'Bonjour, **monde**', 17]);
    expect(ev.bubbles && ev.composed).to.equal(true);
    await waitUntil(() => $(el, '.sr[aria-live=polite]')!.textContent === 'Bonjour, monde', 'reply announced once');
    expect($(el, '[part~=messages]')!.getAttribute('aria-busy')).to.equal('false');
    expect($(el, '[part~=messages]')!.getAttribute('aria-live')).to.equal('off');
    expect($(el, '[part~=send]')).to.not.equal(null);
  });

  it('renders at most once per animation frame however many deltas arrive', async () => {
    const el = await chat();
    let updates = 0;
    const proto = Object.getPrototypeOf(el) as { update(c: unknown): void };
    const own = el as unknown as { update(c: unknown): void };
    own.update = function (c) {
      updates++;
      proto.update.call(this, c);
    };
    const next = proxy.nextReply();
    type(el, 'go');
    const reply = await next;
    reply.start();
    updates = 0;
    reply.raw(Array.from({ length: 200 }, (_, i) => `event: delta\ndata: {"text":"w${i} "}\n\n`).join(''));
    await frames();
    await frames();
    expect(updates).to.be.at.most(3);
    expect(texts(el)[1]).to.contain('w199');
  });

  it('patches a streaming reply in place: after every frame it shows exactly what the text so far renders to', async () => {
    const el = await chat();
    const next = proxy.nextReply();
    type(el, 'show me everything');
    const reply = await next;
    reply.start();
    const text = [
      '# Title with *emphasis*',
      '',
      'A paragraph with **bold**, `code`, a [link](https://example.com/a) and <b>raw</b> text.',
      '',
      '- one',
      '- two with [another](https://example.com/b)',
      '  1. nested',
      '',
      '```js',
      'const a = 1;',
      'const b = 2;',
      '```',
      '',
      '> quoted *text*',
      '',
      '| Plan | Price |',
      '|---|---:|',
      '| Starter | 9 € |',
      '| Pro | 29 € |',
      '',
      'The end.',
    ].join('\n');
    /** The reply as shown, without what the element adds (Lit's markers, copy buttons, tabindex). */
    const shown = () => {
      const copy = $(el, '[part~=message-assistant] [part~=markdown]')!.cloneNode(true) as HTMLElement;
      const walker = document.createTreeWalker(copy, NodeFilter.SHOW_COMMENT);
      const comments: Node[] = [];
      while (walker.nextNode()) comments.push(walker.currentNode);
      for (const c of [...comments, ...copy.querySelectorAll('button')]) c.parentNode!.removeChild(c);
      for (const t of copy.querySelectorAll('[tabindex]')) t.removeAttribute('tabindex');
      copy.normalize();
      return copy;
    };
    const expected = (src: string) => {
      const d = document.createElement('div');
      d.innerHTML = renderMarkdown(src);
      d.normalize();
      return d;
    };
    for (let i = 0; i < text.length; i += 3) {
      reply.delta(text.slice(i, i + 3));
      await frames();
      const got = shown();
      const want = expected(text.slice(0, i + 3));
      expect(got.innerHTML).to.equal(want.innerHTML, `after ${i + 3} characters`);
      // Every code block has its one copy button, as the reply keeps streaming in.
      for (const block of all(el, '[part~=code-block]')) expect(block.querySelectorAll('[part~=copy-button]')).to.have.length(1);
    }
    expect(all(el, '[part~=copy-button]')).to.have.length(1);
    reply.done();
    await waitUntil(() => $(el, '[part~=send]'));
    expect(shown().innerHTML).to.equal(expected(text).innerHTML);
  });

  it('stops a reply: asks the proxy, reads on to the end, shows exactly what streamed, marked stopped, no error', async () => {
    const el = await chat();
    const next = proxy.nextReply();
    type(el, 'tell me a story');
    const reply = await next;
    reply.start();
    reply.delta('Once upon');
    await frames();
    $<HTMLButtonElement>(el, '[part~=stop]')!.click();
    await waitUntil(() => proxy.callsTo(/\/stop$/).length === 1, 'stop requested');
    const [stop] = proxy.callsTo(/\/stop$/);
    expect(stop!.method).to.equal('POST');
    expect(stop!.url.pathname).to.equal(`/v1/sessions/${reply.body.session_id}/stop`);
    expect(stop!.headers.get('X-Api-Key')).to.equal(KEY);
    // The proxy relays what it had before it saw the stop, then ends the reply: all of it is shown, the link
    // cut mid-URL included (it stays text, as the stored reply renders after a reload).
    reply.delta(' a time, see [the docs](http');
    reply.stopped('msg_stopped');
    await waitUntil(() => $(el, '[part~=note]'), 'marked stopped');
    expect(reply.signal?.aborted).to.equal(false, 'the stream was read to its end');
    expect($(el, '[part~=message-assistant] [part~=markdown]')!.textContent!.trim()).to.equal('Once upon a time, see [the docs](http');
    expect($(el, '[part~=note]')?.textContent).to.equal('Stopped.');
    expect($(el, '[part~=error]')).to.equal(null);
    expect($(el, '[part~=send]')).to.not.equal(null);
    expect($(el, '[part~=feedback-up]'), 'a stopped reply with its id can be rated').to.not.equal(null);
  });

  it('stops a reply of a proxy without the Stop call by cutting the stream, as before', async () => {
    const el = await chat();
    proxy.onStop = () => errorBody(404, 'not_found');
    const next = proxy.nextReply();
    type(el, 'tell me a story');
    const reply = await next;
    reply.start();
    reply.delta('Once upon');
    await frames();
    $<HTMLButtonElement>(el, '[part~=stop]')!.click();
    await waitUntil(() => reply.cancelled, 'stream cancelled');
    await el.updateComplete;
    expect(reply.signal?.aborted).to.equal(true);
    expect(texts(el)[1]).to.contain('Once upon');
    expect($(el, '[part~=note]')?.textContent).to.equal('Stopped.');
    expect($(el, '[part~=error]')).to.equal(null);
    expect($(el, '[part~=send]')).to.not.equal(null);
  });

  const expected: Partial<Record<ErrorCode, RegExp>> = {
    rate_limited: /wait 30 seconds/,
    unavailable: /unavailable right now/,
    upstream_error: /could not answer/,
    upstream_timeout: /too long/,
    invalid_api_key: /not available right now: it is not set up correctly/,
    agent_inactive: /switched off/,
    origin_not_allowed: /not available on this website/,
    invalid_user_token: /sign-in for this chat has expired/,
    identity_required: /sign in to chat/,
    reply_in_progress: /already on its way/,
    payload_too_large: /too long/,
    invalid_request: /could not be sent/,
  };
  for (const [code, status] of Object.entries(ERROR_STATUS) as [ErrorCode, number][]) {
    // Retry cannot help a refused key, agent or origin (only the site owner can): no button that would loop uselessly.
    const retry = !['invalid_api_key', 'agent_inactive', 'origin_not_allowed', 'invalid_user_token', 'identity_required'].includes(code);
    it(`explains ${code} (HTTP ${status}) in plain words${retry ? ' with a Retry button' : ''}, never the raw body`, async () => {
      const el = await chat();
      proxy.chatAnswers.push(errorBody(status, code, code === 'rate_limited' ? { retry_after: 30 } : {}));
      const failed = once(el, 'mistral-chat-error');
      type(el, 'hi');
      const ev = await failed;
      expect(ev.code).to.equal(code);
      expect(ev.message).to.equal(`server says ${code}`);
      await el.updateComplete;
      const error = $(el, '[part~=error]')!;
      expect(error.getAttribute('role')).to.equal('alert');
      expect(error.textContent).to.match(expected[code] ?? /Something went wrong/);
      expect(error.textContent).to.not.match(/[{}]|server says/);
      expect($(el, '[part~=retry]') !== null).to.equal(retry);
      expect(texts(el)).to.deep.equal(['hi'], 'the visitor keeps the message');
    });
  }

  it('reads the wait time from Retry-After when the body has none', async () => {
    const el = await chat();
    proxy.chatAnswers.push(errorBody(429, 'rate_limited', {}, { 'retry-after': '12' }));
    type(el, 'hi');
    await waitUntil(() => $(el, '[part~=error]'));
    expect($(el, '[part~=error]')!.textContent).to.contain('wait 12 seconds');
  });

  it('never shows an HTML error page from a gateway', async () => {
    const el = await chat();
    proxy.chatAnswers.push(new Response('<html><body>Bad Gateway nginx</body></html>', { status: 502 }));
    type(el, 'hi');
    await waitUntil(() => $(el, '[part~=error]'));
    expect($(el, '[part~=error]')!.textContent).to.match(/could not answer/).and.not.match(/nginx|</);
  });

  it('keeps the partial reply when the stream ends with an error event', async () => {
    const el = await chat();
    const next = proxy.nextReply();
    type(el, 'hi');
    const reply = await next;
    reply.start();
    reply.delta('Half an ans');
    reply.error('upstream_timeout', 'Mistral timed out');
    await waitUntil(() => $(el, '[part~=error]'));
    expect(texts(el)[1]).to.contain('Half an ans');
    expect($(el, '[part~=error]')!.textContent).to.match(/too long to answer/);
  });

  it('reports an unreachable server as a network problem', async () => {
    const el = await chat();
    proxy.chatAnswers.push(new TypeError('Failed to fetch'));
    type(el, 'hi');
    await waitUntil(() => $(el, '[part~=error]'));
    expect($(el, '[part~=error]')!.textContent).to.match(/could not be reached/);
  });

  /**
   * A proxy that refuses this page's origin, as the browser shows it: its 403 has no CORS grant, so every
   * `/v1` call fails like the network; `GET /healthz` (no key, a simple CORS request) gets `healthz()`.
   */
  function refuseOrigin(healthz: () => Response) {
    const unreachable = () => {
      throw new TypeError('Failed to fetch');
    };
    proxy.onAgent = proxy.onHistory = unreachable;
    const probes: Headers[] = [];
    const fake = globalThis.fetch;
    globalThis.fetch = async (input, init) => {
      if (String(input) !== `${ENDPOINT}/healthz`) return fake(input, init);
      probes.push(new Headers(init?.headers));
      return healthz();
    };
    return probes;
  }

  it("says the assistant is not available here when the proxy refuses the page's origin, and tells the site owner once", async () => {
    const probes = refuseOrigin(() => json(200, { ok: true }));
    const logged: unknown[][] = [];
    const consoleError = console.error;
    console.error = (...a: unknown[]) => void logged.push(a);
    try {
      const failed = once(document, 'mistral-chat-error');
      const el = await fixture<MistralAgentChat>(html`<mistral-agent-chat mode="inline" api-key=${KEY} endpoint=${ENDPOINT}></mistral-agent-chat>`);
      const ev = await failed;
      expect(ev.code).to.equal('origin_not_allowed');
      expect(ev.message).to.contain(location.origin);
      await el.updateComplete;
      const error = $(el, '[part~=error]')!;
      expect(error.getAttribute('role')).to.equal('alert');
      expect(error.textContent).to.match(/This assistant is not available on this website\./).and.not.match(/could not be reached/);
      expect($(el, '[part~=retry]')).to.equal(null, 'no Retry: it would only fail again');
      expect(probes).to.have.length(1);
      expect(probes[0]!.has('X-Api-Key')).to.equal(false, 'the probe carries no key: a simple CORS request');
      expect(logged).to.have.length(1);
      expect(String(logged[0]![0])).to.contain(`--allowed-origins`).and.contain(location.origin);
      await expect(el).to.be.accessible();

      // No message can seem sent: the composer is off, send() does nothing; the site owner is not told twice.
      expect($<HTMLTextAreaElement>(el, '[part~=input]')!.disabled).to.equal(true);
      await el.send('hello?');
      await el.updateComplete;
      expect(texts(el)).to.deep.equal([]);
      expect(proxy.chatCalls).to.have.length(0);
      expect($(el, '[part~=error]')!.textContent).to.match(/not available on this website/);
      expect(logged).to.have.length(1);
      el.lang = 'fr';
      await el.updateComplete;
      expect($(el, '[part~=error]')!.textContent).to.contain('Cet assistant n’est pas disponible sur ce site.');
    } finally {
      console.error = consoleError;
    }
  });

  /** Captures console.error while `fn` runs. */
  async function capturingConsole(fn: (logged: unknown[][]) => Promise<void>) {
    const logged: unknown[][] = [];
    const consoleError = console.error;
    console.error = (...a: unknown[]) => void logged.push(a);
    try {
      await fn(logged);
    } finally {
      console.error = consoleError;
    }
  }
  /** The visitor can neither type nor send, and sees no Retry and no suggested questions. */
  const closedToMessages = (el: MistralAgentChat) => {
    expect($<HTMLTextAreaElement>(el, '[part~=input]')!.disabled).to.equal(true, 'the input is off');
    expect($<HTMLButtonElement>(el, '[part~=send]')!.disabled).to.equal(true, 'send is off');
    expect($(el, '[part~=retry]')).to.equal(null, 'no Retry: it would only fail again');
    expect($(el, '[part~=starters]')).to.equal(null);
  };

  it('with a key the proxy does not know: says so calmly, takes no more messages, and tells the site owner once what to fix', async () => {
    await capturingConsole(async (logged) => {
      proxy.onHistory = proxy.onAgent = () => errorBody(401, 'invalid_api_key');
      const failed = once(document, 'mistral-chat-error');
      const el = await fixture<MistralAgentChat>(
        html`<mistral-agent-chat mode="inline" api-key=${KEY} endpoint=${ENDPOINT} starters='["Hi"]'></mistral-agent-chat>`,
      );
      expect((await failed).code).to.equal('invalid_api_key');
      await el.updateComplete;
      expect($(el, '[part~=error]')!.getAttribute('role')).to.equal('alert');
      expect($(el, '[part~=error]')!.textContent!.trim()).to.equal('This chat is not available right now: it is not set up correctly.');
      closedToMessages(el);
      expect($(el, '[part~=welcome]')).to.equal(null, 'no greeting from a chat that cannot answer');
      expect(logged).to.have.length(1);
      const line = String(logged[0]![0]);
      expect(line).to.match(/^<mistral-agent-chat>: /).and.contain(ENDPOINT).and.contain(KEY.slice(0, 12)).and.contain('agent list');
      expect(line).to.not.contain(KEY, 'only the start of the key');
      await expect(el).to.be.accessible();

      await el.send('hello?');
      el.reset(); // a new conversation does not make the key valid
      await el.updateComplete;
      expect(proxy.chatCalls).to.have.length(0);
      expect(texts(el)).to.deep.equal([]);
      closedToMessages(el);
      expect($(el, '[part~=error]')!.textContent).to.contain('not set up correctly');
      expect(logged).to.have.length(1, 'told once');

      // The site owner fixes the key: the chat works again.
      proxy.onHistory = proxy.onAgent = undefined;
      el.apiKey = 'mac_the_right_key_0123';
      await waitUntil(() => !$<HTMLTextAreaElement>(el, '[part~=input]')!.disabled, 'the composer is back');
      expect($(el, '[part~=error]')).to.equal(null);
    });
  });

  it('with a switched-off agent mid-conversation: keeps the message, says so, takes no more, and tells the site owner how to switch it on', async () => {
    await capturingConsole(async (logged) => {
      const el = await chat();
      proxy.chatAnswers.push(errorBody(403, 'agent_inactive'));
      type(el, 'still there?');
      await waitUntil(() => $(el, '[part~=error]'));
      expect($(el, '[part~=error]')!.textContent).to.contain('This assistant is switched off for now.');
      expect(texts(el)).to.deep.equal(['still there?']);
      closedToMessages(el);
      expect(logged).to.have.length(1);
      expect(String(logged[0]![0])).to.contain('agent enable');
      el.lang = 'fr';
      await el.updateComplete;
      expect($(el, '[part~=error]')!.textContent).to.contain('Cet assistant est désactivé pour le moment.');
    });
  });

  it('keeps the network message, with Retry, when /healthz does not answer either', async () => {
    const probes = refuseOrigin(() => {
      throw new TypeError('Failed to fetch');
    });
    const failed = once(document, 'mistral-chat-error');
    const el = await fixture<MistralAgentChat>(html`<mistral-agent-chat mode="inline" api-key=${KEY} endpoint=${ENDPOINT}></mistral-agent-chat>`);
    expect((await failed).code).to.equal('network');
    await el.updateComplete;
    expect($(el, '[part~=error]')!.textContent).to.match(/could not be reached/);
    expect($(el, '[part~=retry]')).to.not.equal(null);
    expect(probes).to.have.length(1);
  });

  it('retries a failed message once, without duplicating it', async () => {
    const el = await chat();
    proxy.chatAnswers.push(errorBody(503, 'unavailable'));
    type(el, 'are you there?');
    await waitUntil(() => $(el, '[part~=retry]'));
    const next = proxy.nextReply();
    $<HTMLButtonElement>(el, '[part~=retry]')!.click();
    const reply = await next;
    expect(reply.body.message).to.equal('are you there?');
    reply.reply('Yes!');
    await waitUntil(() => texts(el).length === 2 && texts(el)[1] === 'Yes!');
    expect(texts(el)).to.deep.equal(['are you there?', 'Yes!']);
    expect($(el, '[part~=error]')).to.equal(null);
  });

  it('restores the stored history of its session and renders replies as Markdown', async () => {
    localStorage.setItem(`mistral-agent-chat:session:${KEY.slice(0, 12)}`, 'session_restored_01');
    proxy.history = [
      { id: 'a', role: 'user', content: 'What is *2+2*?', created_at: '2025-01-01T00:00:00Z' },
      { id: 'b', role: 'assistant', content: 'It is **4**.', created_at: '2025-01-01T00:00:01Z' },
    ];
    const el = await fixture<MistralAgentChat>(html`<mistral-agent-chat api-key=${KEY} endpoint=${ENDPOINT} open></mistral-agent-chat>`);
    await waitUntil(() => texts(el).length === 2, 'history rendered');
    const call = proxy.calls.find((c) => c.url.pathname.endsWith('/messages'))!;
    expect(call.url.pathname).to.equal('/v1/sessions/session_restored_01/messages');
    expect(texts(el)).to.deep.equal(['What is *2+2*?', 'It is 4.']);
    expect($(el, '[part~=message-assistant] [part~=markdown] strong')?.textContent).to.equal('4');
    expect($(el, '[part~=message-user] em')).to.equal(null);
  });

  it('offers Retry when the history cannot be loaded, then loads it', async () => {
    let fail = true;
    proxy.onHistory = () => (fail ? errorBody(503, 'unavailable') : json(200, { messages: [{ id: 'x', role: 'assistant', content: 'Back', created_at: 'now' }] }));
    const el = await fixture<MistralAgentChat>(html`<mistral-agent-chat mode="inline" api-key=${KEY} endpoint=${ENDPOINT}></mistral-agent-chat>`);
    await waitUntil(() => $(el, '[part~=retry]'));
    fail = false;
    $<HTMLButtonElement>(el, '[part~=retry]')!.click();
    await waitUntil(() => texts(el)[0] === 'Back');
  });

  it('keeps working when localStorage throws on every call', async () => {
    const { getItem, setItem } = Storage.prototype;
    Storage.prototype.getItem = () => {
      throw new DOMException('denied', 'SecurityError');
    };
    Storage.prototype.setItem = Storage.prototype.getItem;
    try {
      const el = await chat();
      const next = proxy.nextReply();
      type(el, 'hi');
      const reply = await next;
      expect(reply.body.session_id).to.match(LIMITS.idPattern);
      reply.reply('Works');
      await waitUntil(() => texts(el)[1] === 'Works');
      const second = proxy.nextReply();
      type(el, 'again');
      expect((await second).body.session_id).to.equal(reply.body.session_id, 'same session from memory');
    } finally {
      Object.assign(Storage.prototype, { getItem, setItem });
    }
  });

  it('starts a new conversation with a new session id from the header button and reset()', async () => {
    const el = await chat();
    let next = proxy.nextReply();
    type(el, 'first');
    const first = await next;
    first.reply('One');
    await waitUntil(() => texts(el).length === 2);
    $<HTMLButtonElement>(el, '[part~=new-button]')!.click();
    await el.updateComplete;
    expect(texts(el)).to.deep.equal([]);
    next = proxy.nextReply();
    type(el, 'second');
    const second = await next;
    expect(second.body.session_id).to.not.equal(first.body.session_id);
    expect(second.body.visitor_id).to.equal(first.body.visitor_id);
    el.reset();
    await waitUntil(() => second.cancelled, 'reset aborts a running reply');
    next = proxy.nextReply();
    void el.send('third');
    expect((await next).body.session_id).to.not.equal(second.body.session_id);
  });

  it('detects going offline, says so, and fails a send without calling the proxy', async () => {
    const el = await chat();
    const desc = Object.getOwnPropertyDescriptor(Navigator.prototype, 'onLine')!;
    Object.defineProperty(navigator, 'onLine', { configurable: true, get: () => false });
    try {
      window.dispatchEvent(new Event('offline'));
      await el.updateComplete;
      expect($(el, '[part~=notice]')?.textContent).to.match(/offline/);
      await el.send('hello?');
      await el.updateComplete;
      expect(proxy.chatCalls).to.have.length(0);
      expect($(el, '[part~=error]')!.textContent).to.match(/offline/);
    } finally {
      Object.defineProperty(navigator, 'onLine', desc);
      delete (navigator as { onLine?: boolean }).onLine;
      window.dispatchEvent(new Event('online'));
    }
    await el.updateComplete;
    expect($(el, '[part~=notice]')).to.equal(null);
    const next = proxy.nextReply();
    $<HTMLButtonElement>(el, '[part~=retry]')!.click();
    expect((await next).body.message).to.equal('hello?');
  });

  it('follows new text, unless the visitor scrolled up', async () => {
    const el = await chat();
    const list = $(el, '[part~=messages]')!;
    const next = proxy.nextReply();
    type(el, 'long please');
    const reply = await next;
    reply.start();
    reply.delta('line\n\n'.repeat(60));
    await frames();
    expect(list.scrollHeight - list.scrollTop - list.clientHeight).to.be.below(2);
    list.scrollTop = 0;
    list.dispatchEvent(new Event('scroll'));
    reply.delta('more\n\n'.repeat(20));
    await frames();
    expect(list.scrollTop).to.equal(0);
    reply.done();
  });
});
