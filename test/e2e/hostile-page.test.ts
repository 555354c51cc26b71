/**
 * Host pages that fight the widget: aggressive global CSS (a reset that unsets every property of every
 * element, !important rules on button/div/svg, inherited text styles on the root), a cookie banner at a
 * huge z-index over the launcher's corner, and strict Content-Security-Policies (see test/e2e/pages/).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Locator, Page } from 'playwright-core';
import { holdElementChunk, launchBrowser, openPage, shot } from './helpers/browser.ts';
import { startSite, type Site } from './helpers/site.ts';
import { startStack, type Stack } from './helpers/stack.ts';
import { widget } from './helpers/widget.ts';

const T = { timeout: 60_000 };
const VIEWPORT = { width: 1280, height: 800 };
const MARKDOWN = '## Delivery\n\n- Free over 50 EUR\n- [Tracking](https://shop.example.test/track)\n\n```sh\ncurl https://shop.example.test/orders/42\n```\n';

/** The element the page hit-tests at the middle of `target` (shadow content is retargeted to its host). */
async function topmostAt(page: Page, target: Locator): Promise<string> {
  const box = await target.boundingBox();
  assert.ok(box, 'the target is rendered');
  return page.evaluate(
    ({ x, y }) => document.elementFromPoint(x, y)?.localName ?? 'nothing',
    { x: box.x + box.width / 2, y: box.y + box.height / 2 },
  );
}

const style = (l: Locator, props: string[]) =>
  l.evaluate((el, names) => Object.fromEntries(names.map((n) => [n, getComputedStyle(el).getPropertyValue(n)])), props);

describe('a hostile host page', () => {
  let stack: Stack;
  let site: Site;
  let browser: Browser;

  before(async () => {
    [stack, browser] = await Promise.all([startStack('pglite'), launchBrowser()]);
    site = await startSite({ proxy: stack.url, key: stack.keys.main });
  });
  after(async () => {
    await browser?.close();
    await site?.close();
    await stack?.close();
  });

  it('keeps the launcher in its corner above the page, the panel on top and its own typography, and works', T, async () => {
    const w = await openPage(browser, { viewport: VIEWPORT });
    try {
      const { page } = w;
      // Hold the element's chunk: first the loader's stub launcher must stand on its own.
      const release = await holdElementChunk(page);
      await page.goto(`${site.url}/pages/hostile.html`);
      const chat = widget(page);
      await chat.launcher.waitFor();

      const inCorner = async (what: string) => {
        const launcher = (await chat.launcher.boundingBox())!;
        assert.deepEqual([launcher.width, launcher.height], [56, 56], `${what} keeps its size`);
        assert.ok(
          Math.abs(launcher.x + launcher.width - (VIEWPORT.width - 20)) <= 1 && Math.abs(launcher.y + launcher.height - (VIEWPORT.height - 20)) <= 1,
          `${what} sits 20px from the bottom-right corner: ${JSON.stringify(launcher)}`,
        );
        assert.equal(await topmostAt(page, chat.launcher), 'mistral-agent-chat', `${what} is above the cookie banner (z-index 99999999)`);
      };
      assert.equal(await page.evaluate(() => customElements.get('mistral-agent-chat')), undefined, 'the element is not loaded yet');
      await inCorner('the stub launcher');
      release();
      await page.waitForFunction(() => customElements.get('mistral-agent-chat'));
      await inCorner('the launcher');
      await shot(page, 'hostile-closed');

      await chat.launcher.click();
      await chat.panel.waitFor();
      const panel = (await chat.panel.boundingBox())!;
      assert.deepEqual([panel.width, panel.height], [380, 600], 'the panel keeps its size');
      assert.equal(await topmostAt(page, chat.panel), 'mistral-agent-chat', 'the panel is on top');
      assert.equal(await topmostAt(page, chat.input), 'mistral-agent-chat', 'the composer is on top of the cookie banner');

      // The page's inherited text styles (italic Comic Sans, uppercase, spaced, shadowed) stay outside.
      assert.deepEqual(await style(chat.panel, ['font-size', 'font-style', 'text-transform', 'letter-spacing', 'text-shadow', 'white-space', 'text-indent']), {
        'font-size': '15px',
        'font-style': 'normal',
        'text-transform': 'none',
        'letter-spacing': 'normal',
        'text-shadow': 'none',
        'white-space': 'normal',
        'text-indent': '0px',
      });
      assert.doesNotMatch((await style(chat.panel, ['font-family']))['font-family']!, /Comic Sans/);
      // Page rules on button, div, svg, textarea and [part] do not reach into the shadow root.
      assert.ok(await chat.send.isVisible(), 'the send button is shown despite `button { display: none !important }`');
      assert.equal((await style(chat.input, ['font-size']))['font-size'], '15px');
      assert.ok((await chat.input.boundingBox())!.height >= 36, 'the input keeps its height');

      stack.standIn.script({ type: 'reply', text: MARKDOWN, chunkDelayMs: 20 });
      await chat.ask('How much is delivery?');
      await chat.replies.first().locator('pre').waitFor();
      await chat.idle();
      const reply = chat.replies.first();
      assert.equal(await reply.locator('h2').textContent(), 'Delivery');
      assert.equal((await style(reply.locator('li').first(), ['list-style-type']))['list-style-type'], 'disc');
      assert.equal(await reply.locator('a').getAttribute('href'), 'https://shop.example.test/track');
      await shot(page, 'hostile-open');

      assert.deepEqual(await w.csp(), [], 'no Content-Security-Policy violation');
      assert.deepEqual(w.errors, []);
    } finally {
      await w.close();
    }
  });

  it('works under the strictest CSP: no inline styles, Trusted Types, nothing but the proxy', T, async () => {
    const w = await openPage(browser, { viewport: VIEWPORT });
    try {
      const { page } = w;
      await page.goto(`${site.url}/pages/strict-csp.html`);
      const chat = widget(page);
      await chat.input.waitFor();
      // Lit's styles arrive as constructed stylesheets, which style-src does not govern.
      assert.equal((await style(chat.launcher, ['background-color']))['background-color'], 'rgb(194, 65, 12)');

      stack.standIn.script({ type: 'reply', text: MARKDOWN, chunkDelayMs: 20 });
      await chat.ask('How much is delivery?');
      await chat.replies.first().locator('pre').waitFor();
      await chat.idle();
      // Typing into the auto-growing input and the copy button run too.
      await chat.input.fill('line one\nline two\nline three');
      await chat.replies.first().locator('[part~="copy-button"]').click();
      assert.equal(await chat.replies.first().locator('h2').textContent(), 'Delivery');

      assert.deepEqual(await w.csp(), [], 'no Content-Security-Policy or Trusted Types violation');
      assert.deepEqual(w.errors, []);
    } finally {
      await w.close();
    }
  });
});
