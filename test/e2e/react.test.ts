/**
 * The React demo (demo/react): built with Vite as an app that depends on the package by its name, served
 * from its own origin, talking to the real proxy. Props reach the element, its events reach React state,
 * and React buttons drive it through its methods.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { build } from 'vite';
import { launchBrowser, openPage, shot } from './helpers/browser.ts';
import { startSite, type Site } from './helpers/site.ts';
import { startStack, type Stack } from './helpers/stack.ts';
import { widget } from './helpers/widget.ts';

const CONFIG = fileURLToPath(new URL('../../demo/react/vite.config.ts', import.meta.url));

describe('the React demo', () => {
  let stack: Stack;
  let site: Site;
  let browser: Browser;
  let outDir: string;

  before(async () => {
    outDir = await mkdtemp(join(tmpdir(), 'mac-react-'));
    [stack, browser] = await Promise.all([
      startStack('pglite'),
      launchBrowser(),
      build({ configFile: CONFIG, logLevel: 'error', build: { outDir, emptyOutDir: true } }),
    ]);
    site = await startSite({ proxy: stack.url, key: stack.keys.main, dirs: { '/react/': outDir } });
  });
  after(async () => {
    await browser?.close();
    await site?.close();
    await stack?.close();
    if (outDir) await rm(outDir, { recursive: true, force: true });
  });

  it('passes props, gets events into React state, and answers React buttons that call its methods', { timeout: 60_000 }, async () => {
    const w = await openPage(browser);
    try {
      const { page } = w;
      await page.goto(`${site.url}/react/?endpoint=${encodeURIComponent(stack.url)}&key=${stack.keys.main}`);
      const chat = widget(page);
      const events = page.getByRole('list', { name: 'Events' }).getByRole('listitem');
      const lastReply = page.getByTestId('last-reply');
      await page.getByRole('heading', { name: 'mistral-agent-chat in React' }).waitFor();

      await page.getByRole('button', { name: 'Open the chat' }).click();
      await chat.panel.waitFor();
      await chat.waitForText(events, 'open');
      assert.equal(await chat.heading.textContent(), 'Shop assistant', 'heading prop (an attribute)');
      // Starters appear once the (empty) history has loaded: wait for them before reading the list.
      await chat.host.locator('[part~="starter"]').first().waitFor();
      assert.deepEqual(
        await chat.host.locator('[part~="starter"]').allInnerTexts(),
        ['What are your opening hours?', 'Do you ship abroad?'],
        'starters prop (an array property)',
      );
      assert.equal(await chat.host.evaluate((el) => JSON.stringify((el as unknown as { metadata: unknown }).metadata)), '{"app":"react-demo"}');

      await page.getByRole('button', { name: 'Ask about opening hours' }).click();
      await chat.waitForText(chat.replies, 'Echo: What are your opening hours?');
      await chat.waitForText(lastReply, /Last reply \(\d+ tokens\): Echo: What are your opening hours\?/);
      assert.deepEqual(await events.allInnerTexts(), ['open', 'send: What are your opening hours?', `response: ${/\d+/.exec(await lastReply.innerText())![0]} tokens`]);
      const sessionId = (await chat.sessionId(stack.keys.main))!;
      assert.equal((await stack.history(sessionId)).length, 2, 'the turn is stored');

      await page.getByLabel('Dark theme').check();
      assert.equal(await chat.host.getAttribute('theme'), 'dark', 'theme prop follows React state');
      await page.mouse.move(0, 0);
      await shot(page, 'react');

      await chat.closeButton.click();
      await chat.waitForText(events.last(), 'close');
      await page.getByRole('button', { name: 'New conversation' }).click();
      await page.getByRole('button', { name: 'Open the chat' }).click();
      await chat.panel.waitFor();
      assert.equal(await chat.userMessages.count(), 0, 'reset() started a new conversation');
      assert.notEqual(await chat.sessionId(stack.keys.main), sessionId);
      assert.deepEqual(w.errors, []);
    } finally {
      await w.close();
    }
  });
});
