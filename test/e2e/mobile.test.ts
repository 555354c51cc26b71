/**
 * On a phone (390×844, touch): the panel takes the whole screen, the input is 16px (no zoom-on-focus in
 * iOS Safari), and the composer stays in view when the on-screen keyboard shrinks the viewport.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchBrowser, openPage, shot } from './helpers/browser.ts';
import { startStack, type Stack } from './helpers/stack.ts';
import { widget } from './helpers/widget.ts';

const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };
/** What is left of the viewport with the keyboard up. */
const KEYBOARD_UP = { width: 390, height: 450 };

const REPLY = '## Returns\n\nYou can return any item within **30 days**:\n\n1. Open your order\n2. Choose *Return*\n3. Print the label\n';

describe('on a phone', () => {
  let stack: Stack;
  let browser: Browser;

  before(async () => {
    [stack, browser] = await Promise.all([startStack('pglite'), launchBrowser()]);
  });
  after(async () => {
    await browser?.close();
    await stack?.close();
  });

  it('opens full screen with a 16px input and keeps the composer above the keyboard', { timeout: 60_000 }, async () => {
    const w = await openPage(browser, PHONE);
    try {
      const { page } = w;
      await page.goto(`${stack.url}/`);
      const chat = widget(page);
      await chat.launcher.tap();
      await chat.waitForText(chat.heading, 'Demo assistant');

      assert.deepEqual(await chat.panel.boundingBox(), { x: 0, y: 0, width: 390, height: 844 }, 'the panel fills the screen');
      assert.equal(await chat.input.evaluate((el) => getComputedStyle(el).fontSize), '16px');
      assert.ok(await chat.closeButton.isVisible(), 'the close button is reachable at the top');

      stack.standIn.script({ type: 'reply', text: REPLY, chunkDelayMs: 10 });
      await chat.input.tap();
      await chat.ask('How do I return an item?');
      await chat.replies.first().locator('ol').waitFor();
      await chat.idle();
      await shot(page, 'mobile-conversation', { docs: 'mobile' });

      // The keyboard comes up: the visible viewport shrinks to 450px.
      await page.setViewportSize(KEYBOARD_UP);
      await chat.input.focus();
      const panel = (await chat.panel.boundingBox())!;
      assert.equal(panel.height, KEYBOARD_UP.height, 'the panel follows the viewport');
      const composer = (await chat.composer.boundingBox())!;
      assert.ok(composer.y >= 0 && composer.y + composer.height <= KEYBOARD_UP.height, `the composer is in view: ${JSON.stringify(composer)}`);
      const input = (await chat.input.boundingBox())!;
      assert.ok(input.y + input.height <= KEYBOARD_UP.height && input.height >= 36, `the input is in view: ${JSON.stringify(input)}`);
      const header = (await chat.closeButton.boundingBox())!;
      assert.ok(header.y >= 0, 'the header stays in view too');
      const messages = (await chat.host.locator('[part~="messages"]').boundingBox())!;
      assert.ok(messages.height > 100, `the conversation keeps room to read: ${messages.height}px`);
      await shot(page, 'mobile-keyboard');

      // Still usable there: send from the shrunken screen, the reply scrolls into view.
      await chat.ask('And the refund?');
      await chat.waitForText(chat.replies.nth(1), 'Echo: And the refund?');
      await chat.idle();
      assert.ok(await chat.replies.nth(1).isVisible());
      const last = (await chat.replies.nth(1).boundingBox())!;
      assert.ok(last.y + last.height <= composer.y + 1, 'the newest reply is scrolled above the composer');
      assert.equal(
        await page.evaluate(() => document.documentElement.scrollWidth <= innerWidth),
        true,
        'no sideways scrolling',
      );
      assert.deepEqual(w.errors, []);
    } finally {
      await w.close();
    }
  });
});
