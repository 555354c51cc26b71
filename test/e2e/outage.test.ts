/**
 * The proxy goes away while a visitor has the chat open, then comes back on the same port and data:
 * the visitor sees a clear error with Retry, and Retry sends the message once it is back.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchBrowser, openPage } from './helpers/browser.ts';
import { startStack, type Stack } from './helpers/stack.ts';
import { widget } from './helpers/widget.ts';

describe('when the proxy goes away and comes back', () => {
  let stack: Stack;
  let browser: Browser;

  before(async () => {
    [stack, browser] = await Promise.all([startStack('pglite'), launchBrowser()]);
  });
  after(async () => {
    await browser?.close();
    await stack?.close();
  });

  it('shows a clear error with Retry, and Retry sends the message once the proxy is back', { timeout: 90_000 }, async () => {
    const w = await openPage(browser);
    try {
      const { page } = w;
      await page.goto(`${stack.url}/`);
      const chat = widget(page);
      await chat.launcher.click();
      await chat.ask('Before the outage');
      await chat.waitForText(chat.replies, 'Echo: Before the outage');
      await chat.idle();

      await stack.stop();
      await chat.ask('Are you still there?');
      await chat.error.waitFor();
      assert.match(await chat.error.innerText(), /The server could not be reached\. Check your connection and try again\./);
      assert.equal(await chat.error.getAttribute('role'), 'alert');
      assert.deepEqual(await chat.userMessages.allInnerTexts(), ['Before the outage', 'Are you still there?'], 'what the visitor typed stays');
      const failed = (await w.events()).filter((e) => e.type === 'error');
      assert.deepEqual(
        failed.map((e) => e.code),
        ['network'],
      );

      await stack.start();
      await chat.retry.click();
      await chat.waitForText(chat.replies.nth(1), 'Echo: Are you still there?');
      await chat.idle();
      assert.equal(await chat.error.count(), 0, 'the error is gone');
      assert.deepEqual(await chat.userMessages.allInnerTexts(), ['Before the outage', 'Are you still there?'], 'the retried message is shown once');

      const sessionId = (await chat.sessionId(stack.keys.main))!;
      assert.deepEqual(
        (await stack.history(sessionId)).map((m) => m.content),
        ['Before the outage', 'Echo: Before the outage', 'Are you still there?', 'Echo: Are you still there?'],
        'the conversation continues in the same session, the retried turn stored once',
      );
      // The only console errors are the browser's own reports of the refused connection.
      assert.deepEqual(
        w.errors.filter((e) => !/ERR_CONNECTION_REFUSED/.test(e)),
        [],
      );
    } finally {
      await w.close();
    }
  });
});
