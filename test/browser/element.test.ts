import { expect, fixture, html, waitUntil } from '@open-wc/testing';
import '../../src/define.ts';
import type { MistralAgentChat } from '../../src/index.ts';
import { sendKeys } from '@web/test-runner-commands';
import { ENDPOINT, FakeProxy, KEY, once } from './fake-proxy.ts';

const $ = <T extends Element = HTMLElement>(el: MistralAgentChat, sel: string) =>
  el.shadowRoot!.querySelector<T>(sel)!;
/** Lets the panel's opening animation end (axe would measure half-transparent colours). */
const settled = async (el: MistralAgentChat) => {
  await el.updateComplete;
  await Promise.all(el.shadowRoot!.getAnimations().filter((a) => a.effect?.getTiming().iterations !== Infinity).map((a) => a.finished));
};
const key = (target: Element, init: KeyboardEventInit) =>
  target.dispatchEvent(new KeyboardEvent('keydown', { bubbles: true, composed: true, cancelable: true, ...init }));
const bubble = () => fixture<MistralAgentChat>(html`<mistral-agent-chat api-key=${KEY} endpoint=${ENDPOINT}></mistral-agent-chat>`);
const inline = () =>
  fixture<MistralAgentChat>(html`<div style="height:500px"><mistral-agent-chat mode="inline" api-key=${KEY} endpoint=${ENDPOINT}></mistral-agent-chat></div>`).then(
    (d) => d.firstElementChild as MistralAgentChat,
  );

describe('<mistral-agent-chat> shell', () => {
  let proxy: FakeProxy;
  beforeEach(() => {
    localStorage.clear();
    proxy = new FakeProxy();
  });
  afterEach(() => proxy.restore());

  it('shows only a labelled launcher until opened, without calling the proxy', async () => {
    const el = await bubble();
    const launcher = $(el, '[part~=launcher]');
    expect(launcher.tagName).to.equal('BUTTON');
    expect(launcher.getAttribute('aria-expanded')).to.equal('false');
    expect(launcher.getAttribute('aria-label')).to.equal('Open chat');
    expect($(el, '[part~=panel]').hidden).to.equal(true);
    expect(proxy.calls).to.have.length(0);
  });

  it('opens from the launcher: focus in the input, heading from GET /v1/agent, open event', async () => {
    const el = await bubble();
    const opened = once(el, 'mistral-chat-open');
    $(el, '[part~=launcher]').click();
    await opened;
    expect(el.opened).to.equal(true);
    expect(el.hasAttribute('open')).to.equal(true);
    expect($(el, '[part~=launcher]').getAttribute('aria-expanded')).to.equal('true');
    expect(el.shadowRoot!.activeElement).to.equal($(el, '[part~=input]'));
    await waitUntil(() => $(el, '[part~=heading]').textContent === 'Ada', 'heading from the agent');
    expect(proxy.calls.map((c) => c.url.pathname)).to.include.members(['/v1/agent']);
    expect(proxy.calls.every((c) => c.headers.get('X-Api-Key') === KEY)).to.equal(true);
  });

  it('closes on Escape and gives focus back to the launcher', async () => {
    const el = await bubble();
    el.open();
    await el.updateComplete;
    const closed = once(el, 'mistral-chat-close');
    key($(el, '[part~=input]'), { key: 'Escape' });
    const ev = await closed;
    expect(ev.bubbles && ev.composed).to.equal(true);
    expect(el.opened).to.equal(false);
    expect($(el, '[part~=panel]').hidden).to.equal(true);
    expect(el.shadowRoot!.activeElement).to.equal($(el, '[part~=launcher]'));
  });

  it('does not steal the focus of a page that starts with the panel open', async () => {
    const el = await fixture<MistralAgentChat>(html`<mistral-agent-chat open api-key=${KEY} endpoint=${ENDPOINT}></mistral-agent-chat>`);
    expect($(el, '[part~=panel]').hidden).to.equal(false);
    expect(el.shadowRoot!.activeElement).to.equal(null);
  });

  it('opens, closes and toggles through methods and the open attribute', async () => {
    const el = await bubble();
    el.toggle();
    await el.updateComplete;
    expect(el.opened).to.equal(true);
    el.close();
    await el.updateComplete;
    expect(el.hasAttribute('open')).to.equal(false);
    el.setAttribute('open', '');
    await el.updateComplete;
    expect(el.opened).to.equal(true);
    $(el, '[part~=close-button]').click();
    await el.updateComplete;
    expect(el.opened).to.equal(false);
  });

  it('focus() targets the launcher when closed and the input when open', async () => {
    const el = await bubble();
    el.focus();
    expect(el.shadowRoot!.activeElement).to.equal($(el, '[part~=launcher]'));
    el.open();
    await el.updateComplete;
    el.focus();
    expect(el.shadowRoot!.activeElement).to.equal($(el, '[part~=input]'));
  });

  it('fills its container inline: no launcher, a labelled region, history loaded on connect', async () => {
    const el = await inline();
    await waitUntil(() => proxy.calls.length >= 2);
    expect($(el, '[part~=launcher]')).to.equal(null);
    const panel = $(el, '[part~=panel]');
    expect(panel.getAttribute('role')).to.equal('region');
    expect(panel.getBoundingClientRect().height).to.equal(500);
    expect(proxy.calls.some((c) => c.url.pathname.endsWith('/messages'))).to.equal(true);
    key($(el, '[part~=input]'), { key: 'Escape' });
    await el.updateComplete;
    expect(panel.hidden).to.equal(false);
  });

  it('sends on Enter, keeps Shift+Enter and IME composition for typing', async () => {
    const el = await inline();
    const input = $<HTMLTextAreaElement>(el, '[part~=input]');
    input.value = 'line one';
    input.dispatchEvent(new Event('input'));
    expect(key(input, { key: 'Enter', shiftKey: true })).to.equal(true, 'Shift+Enter not prevented');
    expect(key(input, { key: 'Enter', isComposing: true })).to.equal(true, 'IME Enter not prevented');
    expect(key(input, { key: 'Enter', keyCode: 229 } as KeyboardEventInit)).to.equal(true);
    await el.updateComplete;
    expect(proxy.chatCalls).to.have.length(0);
    const sent = once(el, 'mistral-chat-send');
    expect(key(input, { key: 'Enter' })).to.equal(false);
    expect((await sent).text).to.equal('line one');
    expect(input.value).to.equal('');
  });

  it('disables send while the input is empty and counts characters near the 4000 limit', async () => {
    const el = await inline();
    const input = $<HTMLTextAreaElement>(el, '[part~=input]');
    expect($<HTMLButtonElement>(el, '[part~=send]').disabled).to.equal(true);
    input.value = 'x'.repeat(3900);
    input.dispatchEvent(new Event('input'));
    await el.updateComplete;
    expect($<HTMLButtonElement>(el, '[part~=send]').disabled).to.equal(false);
    expect($(el, '[part~=counter]').textContent).to.equal('100 characters left');
    input.value = 'x'.repeat(4010);
    input.dispatchEvent(new Event('input'));
    await el.updateComplete;
    expect($(el, '[part~=counter]').textContent).to.equal('10 characters too many');
    expect($<HTMLButtonElement>(el, '[part~=send]').disabled).to.equal(true);
  });

  it('lets the host veto a message with preventDefault on mistral-chat-send', async () => {
    const el = await inline();
    el.addEventListener('mistral-chat-send', (e) => e.preventDefault());
    const input = $<HTMLTextAreaElement>(el, '[part~=input]');
    input.value = 'secret';
    input.dispatchEvent(new Event('input'));
    key(input, { key: 'Enter' });
    await el.updateComplete;
    expect(proxy.chatCalls).to.have.length(0);
    expect(input.value).to.equal('secret');
    expect(el.shadowRoot!.querySelectorAll('[part~=message-user]')).to.have.length(0);
  });

  it('shows starters from the JSON attribute and sends the one clicked', async () => {
    const el = await fixture<MistralAgentChat>(
      html`<mistral-agent-chat mode="inline" api-key=${KEY} endpoint=${ENDPOINT} starters='["What do you sell?","Opening hours"]'></mistral-agent-chat>`,
    );
    await waitUntil(() => $(el, '[part~=starters]'), 'starters shown once the (empty) history is loaded');
    const starters = el.shadowRoot!.querySelectorAll<HTMLButtonElement>('[part~=starter]');
    expect([...starters].map((b) => b.textContent)).to.deep.equal(['What do you sell?', 'Opening hours']);
    const reply = proxy.nextReply();
    starters[1]!.click();
    expect((await reply).body.message).to.equal('Opening hours');
    await el.updateComplete;
    expect($(el, '[part~=starters]')).to.equal(null);
  });

  it('ignores a starters attribute that is not a JSON array', async () => {
    const el = await fixture<MistralAgentChat>(html`<mistral-agent-chat api-key=${KEY} endpoint=${ENDPOINT} starters="oops"></mistral-agent-chat>`);
    expect(el.starters).to.deep.equal([]);
  });

  it('shows a welcome message and the footer slot', async () => {
    const el = await fixture<MistralAgentChat>(
      html`<mistral-agent-chat mode="inline" api-key=${KEY} endpoint=${ENDPOINT} welcome-message=${'Hello <b>there</b>'}
        ><a slot="footer" href="/privacy">Privacy</a></mistral-agent-chat
      >`,
    );
    expect($(el, '[part~=welcome] [part~=bubble]').textContent).to.equal('Hello <b>there</b>');
    const slot = $<HTMLSlotElement>(el, 'slot[name=footer]');
    expect(slot.assignedElements()[0]?.textContent).to.equal('Privacy');
  });

  it("greets with the agent's name by default, in the visitor's language, until welcome-message says otherwise", async () => {
    const el = await inline();
    const welcome = () => el.shadowRoot!.querySelector('[part~=welcome] [part~=bubble]')?.textContent ?? null;
    await waitUntil(() => welcome(), 'default welcome');
    expect(welcome()).to.equal('Hello! You are chatting with Ada. How can I help?');
    el.lang = 'fr';
    await el.updateComplete;
    expect(welcome()).to.equal('Bonjour ! Vous discutez avec Ada. Comment puis-je vous aider ?');
    el.heading = 'Support';
    await el.updateComplete;
    expect(welcome()).to.contain('Vous discutez avec Support.', 'the heading names the chat when set');
    el.strings = { welcome: 'Hallo! Hier ist {name}.' };
    await el.updateComplete;
    expect(welcome()).to.equal('Hallo! Hier ist Support.');

    el.setAttribute('welcome-message', 'Ask me about your order.');
    await el.updateComplete;
    expect(welcome()).to.equal('Ask me about your order.');
    el.setAttribute('welcome-message', ''); // empty: no welcome at all
    await el.updateComplete;
    expect(welcome()).to.equal(null);
    el.removeAttribute('welcome-message'); // absent again: the default
    await el.updateComplete;
    expect(welcome()).to.equal('Hallo! Hier ist Support.');
    el.welcomeMessage = '';
    await el.updateComplete;
    expect(welcome()).to.equal(null);
  });

  it("keeps the message list's focus ring in view: rows scrolled under its edges cannot cover it", async () => {
    proxy.history = Array.from({ length: 12 }, (_, i) => ({
      id: `m${i}`,
      role: i % 2 ? ('assistant' as const) : ('user' as const),
      content: `Message ${i}\n\n${'A long line of text that wraps. '.repeat(6)}`,
      created_at: '2025-01-01T00:00:00Z',
    }));
    const el = await inline();
    el.welcomeMessage = '';
    await waitUntil(() => el.shadowRoot!.querySelectorAll('[part~=message]').length === 12, 'history rendered');
    const list = $(el, '[part~=messages]');
    list.scrollTop = list.scrollHeight / 2;
    const row = () => el.shadowRoot!.querySelectorAll('[part~=message]')[6]!.getBoundingClientRect();
    const before = row();
    await sendKeys({ press: 'Tab' }); // from the page into the element: the first tab stop after the header's buttons
    for (let i = 0; i < 5 && el.shadowRoot!.activeElement !== list; i++) await sendKeys({ press: 'Tab' });
    expect(el.shadowRoot!.activeElement).to.equal(list);
    expect(list.matches(':focus-visible')).to.equal(true);
    expect([row().top, row().left]).to.deep.equal([before.top, before.left], 'focusing moves nothing');

    const r = list.getBoundingClientRect();
    const cs = getComputedStyle(list);
    expect(cs.borderTopWidth).to.equal('2px');
    expect(cs.borderTopColor).to.equal('rgb(194, 65, 12)', '--mistral-chat-focus');
    // Along every edge, what is on top of the ring is the list itself, never a row scrolled under it.
    for (const [x, y] of [
      [r.left + 40, r.top + 1], [r.right - 40, r.top + 1], [r.left + 40, r.bottom - 1], [r.right - 40, r.bottom - 1],
      [r.left + 1, r.top + r.height / 2], [r.right - 1, r.top + r.height / 2],
    ] as const)
      expect(el.shadowRoot!.elementFromPoint(x, y)).to.equal(list, `at ${x - r.left}, ${y - r.top}`);
  });

  it('without an endpoint: says so in the panel and logs one console error for the site owner', async () => {
    const errors: unknown[][] = [];
    const orig = console.error;
    console.error = (...a: unknown[]) => void errors.push(a);
    try {
      const el = await fixture<MistralAgentChat>(html`<mistral-agent-chat mode="inline" api-key=${KEY}></mistral-agent-chat>`);
      el.heading = 'x';
      await el.updateComplete;
      expect($(el, '[part~=error]').textContent).to.contain('server address is missing');
      expect($<HTMLTextAreaElement>(el, '[part~=input]').disabled).to.equal(true);
      expect(errors).to.have.length(1);
      expect(String(errors[0]![0])).to.contain('endpoint="https://');
      expect(proxy.calls).to.have.length(0);
    } finally {
      console.error = orig;
    }
  });

  for (const theme of ['light', 'dark'] as const) {
    it(`passes axe in the ${theme} theme, bubble mode, closed and open`, async () => {
      const el = await fixture<MistralAgentChat>(
        html`<mistral-agent-chat theme=${theme} api-key=${KEY} endpoint=${ENDPOINT} starters='["Hi"]' welcome-message="Welcome!"></mistral-agent-chat>`,
      );
      await expect(el).to.be.accessible();
      el.open();
      await new Promise((r) => setTimeout(r, 30));
      await settled(el);
      await expect(el).to.be.accessible();
    });

    it(`passes axe in the ${theme} theme, inline mode, with a conversation and an error`, async () => {
      proxy.history = [
        { id: 'm1', role: 'user', content: 'Hi', created_at: '2025-01-01T00:00:00Z' },
        { id: 'm2', role: 'assistant', content: 'Hello! See [docs](https://example.com) and:\n\n```js\nlet a = 1;\n```', created_at: '2025-01-01T00:00:01Z' },
      ];
      const el = await inline();
      el.theme = theme;
      await waitUntil(() => el.shadowRoot!.querySelectorAll('[part~=message]:not([part~=welcome])').length === 2, 'history rendered');
      proxy.chatAnswers.push(new Response('{"error":{"code":"unavailable","message":"x"}}', { status: 503 }));
      await el.send('again');
      await el.updateComplete;
      expect($(el, '[part~=error]')).to.not.equal(null);
      await expect(el).to.be.accessible();
    });
  }
});
