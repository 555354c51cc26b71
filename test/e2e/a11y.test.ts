/**
 * axe-core on every state of the bubble (the loader's stub, closed, open and empty, waiting, streaming, stopped, with a
 * conversation, error), in the light and the dark theme, on the demo page; each state is also saved as a
 * screenshot in test-results/screenshots/ (the README's pictures come from here: UPDATE_DOCS_SCREENSHOTS=1).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { axeViolations, describeViolations, holdElementChunk, launchBrowser, openPage, shot } from './helpers/browser.ts';
import { startStack, type Stack } from './helpers/stack.ts';
import { widget, type Widget } from './helpers/widget.ts';

/** Small enough for the README's pictures, large enough for the 380×600 panel. */
const VIEWPORT = { width: 960, height: 720 };

/** The launcher and the panel with a margin of page around them; the page's corner when closed. */
async function widgetArea(page: Page, chat: Widget) {
  const boxes = [];
  for (const part of [chat.launcher, chat.panel]) if (await part.isVisible()) boxes.push((await part.boundingBox())!);
  const pad = 24;
  const left = Math.min(...boxes.map((b) => b.x), VIEWPORT.width - 440) - pad;
  const top = Math.min(...boxes.map((b) => b.y), VIEWPORT.height - 240) - pad;
  return { x: left, y: top, width: VIEWPORT.width - left, height: VIEWPORT.height - top };
}

const DOCS_REPLY = [
  '## Two tags',
  '',
  'Paste this before `</body>`:',
  '',
  '```html',
  '<script type="module" src="https://proxy.example/widget.js"></script>',
  '<mistral-agent-chat api-key="mac_…"></mistral-agent-chat>',
  '```',
  '',
  'Then, if you like:',
  '',
  '- **theme** it with CSS custom properties',
  '- set `lang="fr"` for French',
  '- read the [guide](https://github.com/) for more',
  '',
].join('\n');

let stack: Stack;
let browser: Browser;
before(async () => {
  // No retries: a Mistral failure becomes the error state at once.
  [stack, browser] = await Promise.all([startStack('pglite', { UPSTREAM_RETRIES: '0' }), launchBrowser()]);
});
after(async () => {
  await browser?.close();
  await stack?.close();
});

for (const scheme of ['light', 'dark'] as const) {
  describe(`accessibility of every state, ${scheme} theme`, () => {
    let page: Page;
    let chat: Widget;
    let errors: string[];
    let close: () => Promise<void>;
    let releaseElement: () => void;

    before(async () => {
      const w = await openPage(browser, { viewport: VIEWPORT, colorScheme: scheme });
      ({ page, errors, close } = w);
      // The element's chunk waits until the loader's stub launcher has been checked.
      releaseElement = await holdElementChunk(page);
      await page.goto(`${stack.url}/`);
      chat = widget(page);
    });
    after(async () => {
      await close?.();
    });

    /** No axe violation on the element in this state; the screenshot either way. */
    const check = async (state: string, docs?: string) => {
      await page.mouse.move(0, 0); // no hover effect in the picture
      await shot(page, `${scheme}-${state}`, { clip: await widgetArea(page, chat), ...(docs ? { docs } : {}) });
      const violations = await axeViolations(page);
      assert.equal(violations.length, 0, `axe violations, ${scheme} theme, ${state}:\n${describeViolations(violations)}`);
    };

    it('closed: the loader\'s stub launcher, then the element\'s', async () => {
      await chat.launcher.waitFor();
      assert.equal(await page.evaluate(() => customElements.get('mistral-agent-chat')), undefined, 'the element is not loaded yet');
      await check('stub');
      releaseElement();
      await page.waitForFunction(() => customElements.get('mistral-agent-chat'));
      await check('closed', scheme === 'light' ? 'bubble-closed' : undefined);
    });

    it('open, before the first message (welcome and suggested questions)', async () => {
      await chat.launcher.click();
      await chat.waitForText(chat.heading, 'Demo assistant');
      await chat.host.locator('[part~="starter"]').first().waitFor();
      await check('open-empty');
    });

    it('waiting for the first words (typing indicator)', async () => {
      stack.standIn.script({ type: 'silent' });
      await chat.ask('Are you there?');
      await chat.typing.waitFor();
      await check('waiting');
      await chat.stop.click();
      await chat.idle();
    });

    it('streaming, then stopped', async () => {
      stack.standIn.script({ type: 'stall', afterChunks: 6, text: 'A reply that starts well and then waits for a very long time.' });
      await chat.ask('Tell me something');
      await chat.waitForText(chat.replies.last(), 'A reply');
      await chat.stop.waitFor();
      await check('streaming');
      await chat.stop.click();
      await chat.note.last().waitFor();
      await check('stopped');
    });

    it('with a conversation (Markdown: heading, code block with its copy button, list, link)', async () => {
      await chat.newButton.click();
      stack.standIn.script({ type: 'reply', text: DOCS_REPLY, chunkDelayMs: 5 });
      await chat.ask('How do I add the chat to my site?');
      await chat.replies.first().locator('[part~="copy-button"]').waitFor();
      await chat.idle();
      await chat.input.blur();
      await check('conversation', scheme === 'light' ? 'bubble-open' : 'dark');
    });

    it('error, with Retry', async () => {
      stack.standIn.script({ type: 'error', status: 503 });
      await chat.ask('And what about the price?');
      await chat.retry.waitFor();
      assert.match(await chat.error.innerText(), /The assistant could not answer/);
      await check('error');
      assert.deepEqual(errors, []);
    });
  });
}
