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

describe('<mistral-agent-chat> code, quotes and wide tables', () => {
  beforeEach(() => localStorage.clear());

  /** A 380×600 inline chat showing one stored reply, in `lang`. */
  async function panelWith(content: string, lang = 'en') {
    const proxy = new FakeProxy();
    proxy.history = [{ id: 'r', role: 'assistant', content, created_at: '2025-01-01T00:00:00Z' }];
    const el = await fixture<HTMLElement>(
      html`<div style="width:380px;height:600px"><mistral-agent-chat mode="inline" lang=${lang} api-key=${KEY} endpoint=${ENDPOINT}></mistral-agent-chat></div>`,
    ).then((d) => d.firstElementChild as MistralAgentChat);
    await waitUntil(() => $(el, '[part~=markdown]'), 'reply rendered');
    proxy.restore();
    await el.updateComplete;
    return el;
  }
  const LONG = 'const answer = await fetch(`${endpoint}/v1/sessions/${sessionId}/messages?limit=200`).then((r) => r.json());';

  it('keeps code lines whole: a long line scrolls sideways, and its block is a named tab stop', async () => {
    const el = await panelWith(`Try:\n\n\`\`\`js\n${LONG}\n  return answer;\n\`\`\`\n\nAnd:\n\n\`\`\`\nshort\n\`\`\``);
    const [wide, short] = el.shadowRoot!.querySelectorAll('pre') as unknown as [HTMLElement, HTMLElement];
    expect(getComputedStyle(wide).whiteSpace).to.equal('pre');
    expect(getComputedStyle(wide).overflowX).to.equal('auto');
    // The long line is one line box: the code is two lines tall, not wrapped into pieces.
    const lines = new Set([...wide.querySelector('code')!.getClientRects()].map((r) => Math.round(r.top)));
    expect(lines.size).to.be.at.most(2);
    expect(wide.scrollWidth).to.be.above(wide.clientWidth);
    expect(wide.getAttribute('tabindex')).to.equal('0');
    expect(wide.getAttribute('role')).to.equal('group');
    expect(wide.getAttribute('aria-label')).to.equal('Code (js)');
    expect(wide.querySelector('code')!.textContent).to.equal(`${LONG}\n  return answer;\n`, 'the text itself is untouched');
    expect(short.hasAttribute('tabindex')).to.equal(false, 'a block that fits is no tab stop');
    expect(short.hasAttribute('aria-label')).to.equal(false);
    await expect(el).to.be.accessible();
  });

  it('keeps the copy button clear of the code, in place while the code scrolls, and reachable by Tab', async () => {
    const el = await panelWith(`\`\`\`js\n${LONG}\n\`\`\``);
    await waitUntil(() => $(el, '[part~=copy-button]'));
    const pre = $<HTMLElement>(el, 'pre')!;
    const copy = $<HTMLButtonElement>(el, '[part~=copy-button]')!;
    expect(pre.contains(copy)).to.equal(false, 'outside the scrolling block');
    const before = copy.getBoundingClientRect();
    pre.scrollLeft = 200;
    const after = copy.getBoundingClientRect();
    expect([after.left, after.top]).to.deep.equal([before.left, before.top], 'it does not scroll away');
    const text = pre.querySelector('code')!.getClientRects()[0]!;
    expect(before.bottom).to.be.at.most(text.top, 'it covers no line of code');
    expect(copy.tabIndex).to.equal(0);
  });

  it('sets quotes apart: a bar at the inline start, an indent and muted text, all themeable', async () => {
    const el = await panelWith('Someone said:\n\n> Stay hungry.\n\nThe end.');
    const quote = $<HTMLElement>(el, 'blockquote')!;
    const p = $<HTMLElement>(el, '[part~=markdown] > p')!;
    const cs = getComputedStyle(quote);
    expect(cs.borderLeftStyle).to.equal('solid');
    expect(cs.borderLeftWidth).to.equal('3px');
    expect(cs.borderLeftColor).to.equal('rgb(208, 215, 222)', '--mistral-chat-border');
    expect(parseFloat(cs.paddingLeft)).to.be.above(5);
    expect(cs.color).to.equal('rgb(87, 96, 106)', '--mistral-chat-muted');
    expect(cs.color).to.not.equal(getComputedStyle(p).color);
    el.style.setProperty('--mistral-chat-quote-border', 'rgb(1, 2, 3)');
    el.style.setProperty('--mistral-chat-quote-fg', 'rgb(4, 5, 6)');
    expect(getComputedStyle(quote).borderLeftColor).to.equal('rgb(1, 2, 3)');
    expect(getComputedStyle(quote).color).to.equal('rgb(4, 5, 6)');
    await expect(el).to.be.accessible();

    const rtl = await panelWith('> اصبر', 'ar');
    const q = getComputedStyle($(rtl, 'blockquote')!);
    expect([q.borderRightWidth, q.borderLeftWidth]).to.deep.equal(['3px', '0px'], 'right to left: the bar is on the right');
  });

  it('shades the edge of a wide table or code block where more is hidden (a CSS-only scroll hint)', async () => {
    const el = await panelWith(`| A | B |\n|---|---|\n| \`${LONG}\` | x |\n\n\`\`\`js\n${LONG}\n\`\`\``);
    for (const box of el.shadowRoot!.querySelectorAll<HTMLElement>('table, pre')) {
      const cs = getComputedStyle(box);
      // Covers in the background colour scroll with the content (local) and hide the fixed shadows (scroll) at either end.
      expect(cs.backgroundAttachment).to.equal('local, local, scroll, scroll');
      expect(cs.backgroundImage.match(/linear-gradient/g)).to.have.length(2);
      expect(cs.backgroundImage.match(/radial-gradient/g)).to.have.length(2);
    }
    const [table, pre] = [$<HTMLElement>(el, 'table')!, $<HTMLElement>(el, 'pre')!];
    expect(getComputedStyle(table).backgroundColor).to.equal('rgb(241, 242, 244)', 'covers of the bubble colour');
    expect(getComputedStyle(pre).backgroundColor).to.equal('rgb(31, 35, 40)', 'covers of the code colour');
  });
});
