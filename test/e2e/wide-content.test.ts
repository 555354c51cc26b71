/**
 * Tables and code wider than a reply's bubble, in a real page: they scroll sideways, a shadow shows the side where
 * more is hidden (left to right and right to left, read from the pixels), and the keyboard can scroll them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Locator, Page } from 'playwright-core';
import { launchBrowser, openPage, shot, type Watched } from './helpers/browser.ts';
import { eventually, startStack, type Stack } from './helpers/stack.ts';
import { widget } from './helpers/widget.ts';

const T = { timeout: 60_000 };
const NB = '\u00a0';
/**
 * Empty first and last columns (the strips the test reads stay blank), one long cell that makes it scroll. The
 * reply's direction comes from its text (`dir="auto"`): Arabic headings make it right to left.
 */
const table = (lang: string) => [
  lang === 'ar' ? '| | الإعداد | متغير البيئة | |' : `| | Setting | Environment variable | |`,
  `|---|---|---|---|`,
  `| | \`retries\` | \`MISTRAL_UPSTREAM_RETRIES_BEFORE_GIVING_UP_ON_A_REQUEST_ENTIRELY\` | |`,
  ...Array.from({ length: 8 }, () => `| | ${NB} | ${NB} | |`),
].join('\n');
const CODE = ['```js', `const url = \`\${endpoint}/v1/sessions/\${encodeURIComponent(sessionId)}/messages?limit=200\`; // one long line`, '```'].join('\n');

/** Mean brightness (0–255) of two 4 px strips just inside the left and right edges of `box`, rows 40 % to the bottom less 20 px. */
async function edges(page: Page, box: Locator): Promise<{ left: number; right: number }> {
  const b = (await box.boundingBox())!;
  const png = await page.screenshot({ clip: b });
  return page.evaluate(async (b64) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const bitmap = await createImageBitmap(new Blob([bytes], { type: 'image/png' }));
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    const ctx = canvas.getContext('2d')!;
    ctx.drawImage(bitmap, 0, 0);
    const { data, width, height } = ctx.getImageData(0, 0, bitmap.width, bitmap.height);
    // (no named function in here: the test's TypeScript transform would wrap it in a helper the page lacks)
    const [left, right] = [[1, 5], [width - 5, width - 1]].map(([x0, x1]) => {
      let sum = 0;
      let n = 0;
      for (let y = Math.round(height * 0.4); y < height - 20; y++)
        for (let x = x0!; x < x1!; x++, n++) sum += (data[(y * width + x) * 4]! + data[(y * width + x) * 4 + 1]! + data[(y * width + x) * 4 + 2]!) / 3;
      return sum / n;
    });
    return { left: left!, right: right! };
  }, png.toString('base64'));
}

describe('wide tables and code in a reply', () => {
  let stack: Stack;
  let browser: Browser;
  let w: Watched;

  before(async () => {
    [stack, browser] = await Promise.all([startStack('pglite'), launchBrowser()]);
  });
  after(async () => {
    await browser?.close();
    await stack?.close();
  });

  /** The demo page in `lang`, with the reply holding the table and the code block. */
  async function reply(lang: string) {
    w = await openPage(browser, { viewport: { width: 960, height: 900 } });
    await w.page.goto(`${stack.url}/`);
    const chat = widget(w.page);
    await chat.host.evaluate((el, l) => el.setAttribute('lang', l), lang);
    await chat.launcher.click();
    stack.standIn.script({ type: 'reply', text: `${table(lang)}\n\n${CODE}\n`, chunkDelayMs: 0 });
    await chat.ask('Show me the settings');
    await chat.replies.first().locator('pre[tabindex="0"]').waitFor();
    await chat.idle();
    return { chat, table: chat.replies.first().locator('table'), pre: chat.replies.first().locator('pre') };
  }

  for (const [lang, dir] of [['en', 'left to right'], ['ar', 'right to left']] as const)
    it(`shades the side where more of a wide table is hidden, ${dir}`, T, async () => {
      const { table } = await reply(lang);
      try {
        const { page } = w;
        await table.evaluate((el) => el.scrollIntoView({ block: 'center' }));
        const [end, start] = lang === 'en' ? (['right', 'left'] as const) : (['left', 'right'] as const);
        const atStart = await edges(page, table);
        await shot(table, `wide-table-${lang}-start`);
        assert.ok(atStart[start] - atStart[end] > 15, `at the start, a shadow on the ${end} only: ${JSON.stringify(atStart)}`);

        assert.equal(await table.evaluate((el) => getComputedStyle(el).direction), lang === 'ar' ? 'rtl' : 'ltr');
        await table.evaluate((el) => (el.scrollLeft = (getComputedStyle(el).direction === 'rtl' ? -1 : 1) * el.scrollWidth));
        const atEnd = await edges(page, table);
        await shot(table, `wide-table-${lang}-end`);
        assert.ok(atEnd[end] - atEnd[start] > 15, `scrolled to the end, a shadow on the ${start} only: ${JSON.stringify(atEnd)}`);

        await table.evaluate((el) => (el.scrollLeft = el.scrollLeft / 2));
        const between = await edges(page, table);
        assert.ok(Math.max(between.left, between.right) < Math.min(atStart[start], atEnd[end]) - 15, `in between, shadows on both sides: ${JSON.stringify(between)}`);
        assert.deepEqual(w.errors, []);
      } finally {
        await w.close();
      }
    });

  it('lets the keyboard reach a long code block and scroll it, with the copy button still in reach', T, async () => {
    const { chat, pre } = await reply('en');
    try {
      assert.equal(await pre.getAttribute('aria-label'), 'Code (js)');
      assert.equal(await pre.evaluate((el) => getComputedStyle(el).whiteSpace), 'pre');
      await chat.input.focus();
      // Backwards from the input: past the send button and the copy button, to the code block.
      for (let i = 0; i < 8 && !(await pre.evaluate((el) => el.matches(':focus'))); i++) await w.page.keyboard.press('Shift+Tab');
      assert.equal(await pre.evaluate((el) => el.matches(':focus-visible')), true, 'the code block takes the focus');
      await w.page.keyboard.press('ArrowRight');
      await eventually(async () => (await pre.evaluate((el) => el.scrollLeft)) > 0, 5_000, 'the arrow key to scroll it (smoothly)');
      await w.page.keyboard.press('Tab');
      assert.equal(await chat.host.evaluate((el) => el.shadowRoot!.activeElement?.getAttribute('part')), 'button copy-button', 'the copy button is the next stop');
      assert.deepEqual(w.errors, []);
    } finally {
      await w.close();
    }
  });
});
