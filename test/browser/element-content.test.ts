import { expect, fixture, html, waitUntil } from '@open-wc/testing';
import '../../src/define.ts';
import { setDefaultEndpoint } from '../../src/element/endpoint.ts';
import type { MistralAgentChat } from '../../src/index.ts';
import { ENDPOINT, FakeProxy, KEY } from './fake-proxy.ts';

declare global {
  interface Window {
    __xss?: number;
  }
}

const $ = <T extends Element = HTMLElement>(el: MistralAgentChat, sel: string) => el.shadowRoot!.querySelector<T>(sel);

/** An inline chat whose stored history holds one assistant reply. */
async function withReply(content: string, allowImages = false) {
  const proxy = new FakeProxy();
  proxy.history = [{ id: 'r', role: 'assistant', content, created_at: '2025-01-01T00:00:00Z' }];
  const el = await fixture<MistralAgentChat>(
    html`<mistral-agent-chat mode="inline" api-key=${KEY} endpoint=${ENDPOINT} ?allow-images=${allowImages}></mistral-agent-chat>`,
  );
  await waitUntil(() => $(el, '[part~=markdown]'), 'reply rendered');
  proxy.restore();
  return $(el, '[part~=markdown]')!;
}

describe('<mistral-agent-chat> content', () => {
  beforeEach(() => localStorage.clear());

  it('renders a hostile reply inert: no script, no handler, no javascript: link', async () => {
    const body = await withReply(
      'Hi <img src=x onerror="window.__xss=1"> <script>window.__xss=2</script>\n\n' +
        '[click](javascript:window.__xss=3) <a href="#" onclick="window.__xss=4">a</a>\n\n' +
        '<svg onload="window.__xss=5"></svg> <iframe src="javascript:window.__xss=6"></iframe>',
    );
    await new Promise((r) => setTimeout(r, 50));
    expect(window.__xss).to.equal(undefined);
    expect(body.querySelectorAll('script, img, svg, iframe')).to.have.length(0);
    for (const node of body.querySelectorAll('*'))
      for (const attr of node.attributes) expect(attr.name).to.not.match(/^on/);
    for (const a of body.querySelectorAll('a[href]')) expect(a.getAttribute('href')).to.not.match(/^javascript:/i);
    expect(body.textContent).to.contain('<script>'); // shown as text, not run
  });

  it('opens links in a new tab without opener or referrer', async () => {
    const body = await withReply('See [the docs](https://example.com/docs).');
    const a = body.querySelector('a')!;
    expect(a.getAttribute('href')).to.equal('https://example.com/docs');
    expect(a.target).to.equal('_blank');
    expect(a.rel).to.equal('noopener noreferrer');
  });

  it('blocks images unless allow-images is set', async () => {
    const blocked = await withReply('![a cat](https://img.example/cat.png)');
    expect(blocked.querySelector('img')).to.equal(null);
    expect(blocked.textContent).to.contain('a cat');
    const allowed = await withReply('![a cat](https://img.example/cat.png)', true);
    const img = allowed.querySelector('img')!;
    expect(img.getAttribute('src')).to.equal('https://img.example/cat.png');
    expect(img.getAttribute('referrerpolicy')).to.equal('no-referrer');
  });

  it('adds a copy button to code blocks that copies the code', async () => {
    const body = await withReply('```js\nconst a = 1;\n```');
    await waitUntil(() => body.querySelector('[part~=copy-button]'));
    let copied = '';
    const clip = Object.getOwnPropertyDescriptor(Navigator.prototype, 'clipboard');
    Object.defineProperty(navigator, 'clipboard', {
      configurable: true,
      value: { writeText: (t: string) => ((copied = t), Promise.resolve()) },
    });
    try {
      const button = body.querySelector<HTMLButtonElement>('[part~=copy-button]')!;
      expect(button.closest('[part~=code-block]')).to.not.equal(null);
      button.click();
      await waitUntil(() => button.textContent === 'Copied');
      expect(copied).to.equal('const a = 1;\n');
    } finally {
      delete (navigator as { clipboard?: unknown }).clipboard;
      if (clip) Object.defineProperty(Navigator.prototype, 'clipboard', clip);
    }
  });

  it('keeps table words whole in the 380px panel, and lets the keyboard reach a table too wide for it', async () => {
    const proxy = new FakeProxy();
    proxy.history = [
      {
        id: 'r',
        role: 'assistant',
        content: [
          '| Plan | Price per month | Storage | Support |',
          '|---|---:|---|---|',
          '| Starter | 9 € | 10 GB | Email within two business days |',
          '| Professional | 29 € | 100 GB | Priority email and chat |',
          '| Enterprise | On request | Unlimited | Dedicated account manager |',
          '',
          '| Setting | Environment variable |',
          '|---|---|',
          '| `upstream_retries` | `MISTRAL_UPSTREAM_RETRIES_BEFORE_GIVING_UP_ON_A_REQUEST` |',
        ].join('\n'),
        created_at: '2025-01-01T00:00:00Z',
      },
    ];
    const el = await fixture<HTMLElement>(
      html`<div style="width:380px;height:600px"><mistral-agent-chat mode="inline" api-key=${KEY} endpoint=${ENDPOINT}></mistral-agent-chat></div>`,
    ).then((d) => d.firstElementChild as MistralAgentChat);
    await waitUntil(() => el.shadowRoot!.querySelectorAll('table').length === 2, 'tables rendered');
    proxy.restore();
    await el.updateComplete;
    const [plans, wide] = el.shadowRoot!.querySelectorAll('table') as unknown as [HTMLElement, HTMLElement];

    // A word cut over two lines ("Pl" / "an") has its characters on two line boxes.
    const cut: string[] = [];
    const walker = document.createTreeWalker(plans, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode())
      for (const m of node.textContent!.matchAll(/\S+/g)) {
        const range = document.createRange();
        range.setStart(node, m.index);
        range.setEnd(node, m.index + m[0].length);
        if (new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size > 1) cut.push(m[0]);
      }
    expect(cut).to.deep.equal([], 'no word is cut');
    expect(plans.scrollWidth).to.be.at.most(plans.clientWidth, 'four columns fit without scrolling');
    expect(plans.hasAttribute('tabindex')).to.equal(false, 'a table that fits is no tab stop');
    expect(wide.scrollWidth).to.be.above(wide.clientWidth);
    expect(wide.tabIndex).to.equal(0, 'a table that scrolls sideways can be focused, then scrolled with the arrow keys');
    await expect(el).to.be.accessible();
  });
});

describe('<mistral-agent-chat> languages', () => {
  let proxy: FakeProxy;
  beforeEach(() => (proxy = new FakeProxy()));
  afterEach(() => {
    proxy.restore();
    document.documentElement.lang = 'en';
  });

  it('speaks French with lang="fr"', async () => {
    const el = await fixture<MistralAgentChat>(html`<mistral-agent-chat lang="fr" api-key=${KEY} endpoint=${ENDPOINT}></mistral-agent-chat>`);
    expect($(el, '[part~=launcher]')!.getAttribute('aria-label')).to.equal('Ouvrir la discussion');
    el.open();
    await el.updateComplete;
    expect($(el, '[part~=send]')!.getAttribute('aria-label')).to.equal('Envoyer');
    expect($<HTMLTextAreaElement>(el, '[part~=input]')!.placeholder).to.equal('Écrivez un message…');
    expect($(el, '[part~=panel]')!.getAttribute('lang')).to.equal('fr');
  });

  it("follows the page's language when it has none of its own", async () => {
    document.documentElement.lang = 'fr-CA';
    const el = await fixture<MistralAgentChat>(html`<mistral-agent-chat api-key=${KEY} endpoint=${ENDPOINT}></mistral-agent-chat>`);
    expect($(el, '[part~=launcher]')!.getAttribute('aria-label')).to.equal('Ouvrir la discussion');
  });

  it('lets every string be overridden, and uses placeholder and heading attributes', async () => {
    const el = await fixture<MistralAgentChat>(
      html`<mistral-agent-chat mode="inline" api-key=${KEY} endpoint=${ENDPOINT} heading="Support" placeholder="Ask us"
        .strings=${{ send: 'Go', footer: '' }}></mistral-agent-chat>`,
    );
    expect($(el, '[part~=send]')!.getAttribute('aria-label')).to.equal('Go');
    expect($(el, '[part~=heading]')!.textContent).to.equal('Support');
    expect($<HTMLTextAreaElement>(el, '[part~=input]')!.placeholder).to.equal('Ask us');
    expect($(el, '[part~=footer]')).to.equal(null);
  });

  it('lays out right-to-left for Arabic (English strings, RTL direction)', async () => {
    const el = await fixture<MistralAgentChat>(html`<mistral-agent-chat mode="inline" lang="ar" api-key=${KEY} endpoint=${ENDPOINT}></mistral-agent-chat>`);
    const panel = $(el, '[part~=panel]')!;
    expect(panel.dir).to.equal('rtl');
    expect(getComputedStyle($(el, '[part~=composer]')!).direction).to.equal('rtl');
    el.lang = 'en';
    await el.updateComplete;
    expect(panel.dir).to.equal('ltr');
  });
});

describe('<mistral-agent-chat> default endpoint', () => {
  it('uses the origin recorded by the script-tag entry when there is no endpoint attribute', async () => {
    const proxy = new FakeProxy();
    setDefaultEndpoint(ENDPOINT);
    try {
      const el = await fixture<MistralAgentChat>(html`<mistral-agent-chat mode="inline" api-key=${KEY}></mistral-agent-chat>`);
      await waitUntil(() => proxy.calls.length > 0);
      expect(proxy.calls[0]!.url.origin).to.equal(ENDPOINT);
      expect($(el, '[part~=error]')).to.equal(null);
    } finally {
      setDefaultEndpoint('');
      proxy.restore();
    }
  });
});
