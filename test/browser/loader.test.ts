/**
 * The launcher-first script-tag loader, as BUILT (dist/mistral-agent-chat.js and its chunks: `npm test`
 * builds first; alone, run `node scripts/build.js` before `npx wtr`). Each case runs in a fresh iframe, so
 * each gets its own module map and custom element registry, i.e. a page that has just loaded the script.
 * `requestIdleCallback` is held by the test, so "the page went idle" happens when the test says so.
 */
import { emulateMedia, sendKeys } from '@web/test-runner-commands';
import { expect, fixture, html, waitUntil } from '@open-wc/testing';
import type { MistralAgentChat } from '../../src/index.ts';
import { KEY } from './fake-proxy.ts';

const LOADER = '/dist/mistral-agent-chat.js';
const IIFE = '/dist/mistral-agent-chat.iife.js';
const TAG = 'mistral-agent-chat';
const CHUNK = /\/mac-element-[\w-]+\.js$/;

type Win = Window & typeof globalThis;

interface Page {
  win: Win;
  doc: Document;
  /** URLs the element fetched (answered by a stand-in for the proxy). */
  calls: string[];
  /** Runs what the loader left for the idle time. */
  idle(): void;
  idleQueued(): number;
  chunkRequested(): boolean;
  defined(): Promise<CustomElementConstructor>;
  el(selector?: string): MistralAgentChat;
}

const frames: HTMLIFrameElement[] = [];
const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

/** A fresh page holding `body`, then the loader (or the classic script) added the way a site adds it. */
async function page(body: string, script: 'module' | 'classic' = 'module'): Promise<Page> {
  const iframe = document.createElement('iframe');
  iframe.style.cssText = 'width:800px;height:700px;border:0';
  iframe.srcdoc = `<!doctype html><html lang="en"><body>${body}</body></html>`;
  const loaded = new Promise((r) => iframe.addEventListener('load', r, { once: true }));
  document.body.append(iframe);
  frames.push(iframe);
  await loaded;
  const win = iframe.contentWindow as Win;
  const doc = iframe.contentDocument!;

  const queued: IdleRequestCallback[] = [];
  win.requestIdleCallback = (cb) => queued.push(cb);
  const calls: string[] = [];
  const answer = (status: number, body: unknown) =>
    new win.Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
  win.fetch = async (input) => {
    const url = input instanceof win.Request ? input.url : String(input);
    calls.push(url);
    if (url.endsWith('/v1/agent')) return answer(200, { name: 'Ada', role: 'Helps with tests' });
    if (/\/v1\/sessions\/[^/]+\/messages/.test(url)) return answer(200, { messages: [] });
    return answer(404, { error: { code: 'not_found', message: 'x' } });
  };

  const tag = doc.createElement('script');
  if (script === 'module') tag.type = 'module';
  tag.src = script === 'module' ? LOADER : IIFE;
  const ran = new Promise((resolve, reject) => {
    tag.onload = resolve;
    tag.onerror = () => reject(new Error(`${tag.src} did not load`));
  });
  doc.head.append(tag);
  await ran;
  return {
    win,
    doc,
    calls,
    idle: () => queued.splice(0).forEach((cb) => cb({ didTimeout: false, timeRemaining: () => 50 })),
    idleQueued: () => queued.length,
    chunkRequested: () => win.performance.getEntriesByType('resource').some((e) => CHUNK.test(e.name)),
    defined: () => win.customElements.whenDefined(TAG),
    el: (selector = TAG) => doc.querySelector(selector) as MistralAgentChat,
  };
}

const $ = <T extends Element = HTMLElement>(el: Element, sel: string) => el.shadowRoot!.querySelector<T>(sel)!;
const launcher = (el: Element) => $<HTMLButtonElement>(el, '[part~=launcher]');
const BUBBLE = `<${TAG} api-key="${KEY}"></${TAG}>`;

/** What a visitor sees of a launcher: where it sits, its size, colours and icon. */
function look(el: Element) {
  const b = launcher(el);
  const cs = b.ownerDocument.defaultView!.getComputedStyle(b);
  const r = b.getBoundingClientRect();
  const path = b.querySelector('path')!;
  return {
    rect: [r.x, r.y, r.width, r.height],
    host: (({ x, y, width, height }) => [x, y, width, height])(el.getBoundingClientRect()),
    background: cs.backgroundColor,
    color: cs.color,
    shadow: cs.boxShadow,
    radius: cs.borderRadius,
    cursor: cs.cursor,
    icon: [path.getAttribute('d'), b.ownerDocument.defaultView!.getComputedStyle(b.querySelector('svg')!).width],
    zIndex: b.ownerDocument.defaultView!.getComputedStyle(el).zIndex,
  };
}

describe('launcher-first loader (dist/mistral-agent-chat.js)', () => {
  before(async () => {
    const res = await fetch(LOADER, { method: 'HEAD', cache: 'no-store' });
    if (!res.ok) throw new Error(`${LOADER} is missing (HTTP ${res.status}): run node scripts/build.js first`);
  });
  afterEach(async () => {
    for (const f of frames.splice(0)) f.remove();
    await emulateMedia({ colorScheme: 'light' });
  });

  it('draws the launcher at once, with its part and label, and loads nothing more until asked', async () => {
    const p = await page(`${BUBBLE}<${TAG} id="fr" lang="fr" api-key="${KEY}"></${TAG}>`);
    const b = launcher(p.el());
    expect(b.tagName).to.equal('BUTTON');
    expect(b.getAttribute('aria-label')).to.equal('Open chat');
    expect(b.getAttribute('aria-expanded')).to.equal('false');
    expect(launcher(p.el('#fr')).getAttribute('aria-label')).to.equal('Ouvrir la discussion');
    await tick(300);
    expect(p.chunkRequested()).to.equal(false, 'element chunk requested before any interaction');
    expect(p.win.customElements.get(TAG)).to.equal(undefined);
    expect(p.calls).to.deep.equal([]);
    expect(p.idleQueued()).to.equal(1, 'an idle-time load is queued');
  });

  it('loads the element when the page is idle, and customElements.whenDefined resolves', async () => {
    const p = await page(BUBBLE);
    p.idle();
    await p.defined();
    expect(p.chunkRequested()).to.equal(true);
    const el = p.el();
    await el.updateComplete;
    expect(typeof el.open).to.equal('function');
    expect(launcher(el).getAttribute('aria-label')).to.equal('Open chat');
    expect(el.shadowRoot!.querySelectorAll('[part~=launcher]')).to.have.length(1, 'the stub is gone');
    expect(el.opened).to.equal(false);
  });

  it('opens the panel with focus in the input when the stub is clicked, calling the script origin', async () => {
    const p = await page(BUBBLE);
    const el = p.el();
    const opened = new Promise((r) => el.addEventListener('mistral-chat-open', r, { once: true }));
    launcher(el).click();
    await opened;
    expect(el.opened).to.equal(true);
    expect(el.hasAttribute('data-mac-open')).to.equal(false);
    expect($(el, '[part~=panel]').hidden).to.equal(false);
    expect(el.shadowRoot!.activeElement).to.equal($(el, '[part~=input]'));
    expect(launcher(el).getAttribute('aria-expanded')).to.equal('true');
    await waitUntil(() => $(el, '[part~=heading]').textContent === 'Ada', 'agent loaded');
    // No endpoint attribute: the default is the origin the script came from.
    expect(p.calls[0]).to.match(new RegExp(`^${location.origin}/v1/`));
  });

  it('opens on Enter from the keyboard, like the real launcher', async () => {
    const p = await page(BUBBLE);
    const el = p.el();
    const opened = new Promise((r) => el.addEventListener('mistral-chat-open', r, { once: true }));
    p.win.focus();
    launcher(el).focus(); // focus alone prefetches
    await sendKeys({ press: 'Enter' });
    await opened;
    expect(el.shadowRoot!.activeElement).to.equal($(el, '[part~=input]'));
  });

  it('prefetches on pointer or focus without opening; a focused stub hands focus to the real launcher', async () => {
    const hover = await page(BUBBLE);
    launcher(hover.el()).dispatchEvent(new hover.win.PointerEvent('pointerenter'));
    await hover.defined();
    await hover.el().updateComplete;
    expect(hover.el().opened).to.equal(false);

    const focus = await page(BUBBLE);
    focus.win.focus();
    launcher(focus.el()).focus();
    await focus.defined();
    const el = focus.el();
    await el.updateComplete;
    expect(el.opened).to.equal(false);
    expect(el.shadowRoot!.activeElement).to.equal(launcher(el));
  });

  it('loads at once for inline and open elements (no stub)', async () => {
    const inline = await page(`<div style="height:400px"><${TAG} mode="inline" api-key="${KEY}"></${TAG}></div>`);
    await inline.defined();
    expect(inline.idleQueued()).to.equal(1, 'not waiting for idle');
    await waitUntil(() => $(inline.el(), '[part~=panel]'), 'inline panel rendered');
    expect(launcher(inline.el())).to.equal(null);

    const open = await page(`<${TAG} open api-key="${KEY}"></${TAG}>`);
    await open.defined();
    expect(open.el().opened).to.equal(true);
  });

  it('gives elements added later a stub too, and loads when one of them is set to open', async () => {
    const p = await page('');
    const el = p.doc.createElement(TAG);
    el.setAttribute('lang', 'fr');
    p.doc.body.append(el);
    await tick();
    expect(launcher(el).getAttribute('aria-label')).to.equal('Ouvrir la discussion');
    el.setAttribute('lang', 'en');
    await tick();
    expect(launcher(el).getAttribute('aria-label')).to.equal('Open chat');
    // The page's own strings, set as a property before the element exists, label the stub too.
    const custom = Object.assign(p.doc.createElement(TAG), { strings: { openChat: 'Ask us anything' } });
    p.doc.body.append(custom);
    await tick();
    expect(launcher(custom).getAttribute('aria-label')).to.equal('Ask us anything');
    expect(p.chunkRequested()).to.equal(false);
    el.setAttribute('open', '');
    await p.defined();
    await (el as MistralAgentChat).updateComplete;
    expect($(el, '[part~=panel]').hidden).to.equal(false);
    await (custom as MistralAgentChat).updateComplete;
    expect(launcher(custom).getAttribute('aria-label')).to.equal('Ask us anything');
  });

  const looks: [string, string, 'light' | 'dark', string?][] = [
    ['light', '', 'light'],
    ['dark theme, bottom-left', 'theme="dark" position="bottom-left"', 'light'],
    ['auto theme on a dark system', '', 'dark'],
    ['custom properties', 'style="--mistral-chat-accent:#123456;--mistral-chat-launcher-size:64px;--mistral-chat-offset:8px"', 'light'],
    ['a page reset aimed at it', 'position="bottom-left"', 'light', `<style>*:where(${TAG}){all:unset;position:static;inset:0;z-index:1}</style>`],
  ];
  for (const [name, attrs, scheme, pageCss = ''] of looks) {
    it(`looks and sits exactly like the real launcher (${name}): no jump on upgrade`, async () => {
      await emulateMedia({ colorScheme: scheme });
      const p = await page(`${pageCss}<${TAG} api-key="${KEY}" ${attrs}></${TAG}>`);
      const el = p.el();
      const before = look(el);
      p.idle();
      await p.defined();
      await el.updateComplete;
      expect(look(el)).to.deep.equal(before);
    });
  }

  it('the classic script (IIFE) shows the same stub, then the element, with the script origin as endpoint', async () => {
    const p = await page(BUBBLE, 'classic');
    const el = p.el();
    expect(launcher(el).getAttribute('aria-label')).to.equal('Open chat');
    const opened = new Promise((r) => el.addEventListener('mistral-chat-open', r, { once: true }));
    launcher(el).click();
    await opened;
    expect(el.shadowRoot!.activeElement).to.equal($(el, '[part~=input]'));
    await waitUntil(() => p.calls.length > 0, 'agent requested');
    expect(p.calls[0]).to.match(new RegExp(`^${location.origin}/v1/`));
  });

  describe('in this test page', () => {
    before(async () => {
      // Hold the idle-time load: the stub must stay a stub while axe looks at it.
      window.requestIdleCallback = () => 0;
      await import(/* @vite-ignore */ LOADER);
    });

    for (const theme of ['light', 'dark']) {
      it(`the stub passes axe (${theme} theme)`, async () => {
        const el = await fixture(html`<mistral-agent-chat theme=${theme} api-key=${KEY}></mistral-agent-chat>`);
        await waitUntil(() => el.shadowRoot?.querySelector('[part~=launcher]'), 'stub drawn');
        expect(customElements.get(TAG)).to.equal(undefined);
        await expect(el).to.be.accessible();
      });
    }
  });
});
