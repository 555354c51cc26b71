/**
 * The other demo pages the Node server serves: inline mode (live attributes, host events, both themes),
 * the classic-script (IIFE) embed, and the theme gallery built only from custom properties and parts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { axeViolations, describeViolations, launchBrowser, openPage, shot } from './helpers/browser.ts';
import { startStack, type Stack } from './helpers/stack.ts';
import { widget } from './helpers/widget.ts';

const T = { timeout: 60_000 };
const REPLY = 'To reset your password:\n\n1. Open **Settings**\n2. Choose *Security*\n3. Follow the link we email you\n';

describe('the demo pages', () => {
  let stack: Stack;
  let browser: Browser;

  before(async () => {
    [stack, browser] = await Promise.all([startStack('pglite'), launchBrowser()]);
  });
  after(async () => {
    await browser?.close();
    await stack?.close();
  });

  it('inline: fills its box, chats at once, follows live attributes and tells the host page', T, async () => {
    const w = await openPage(browser, { viewport: { width: 1100, height: 760 } });
    try {
      const { page } = w;
      await page.goto(`${stack.url}/inline.html`);
      const chat = widget(page, '#chat');
      await chat.input.waitFor();
      assert.equal(await chat.launcher.count(), 0, 'no launcher inline');
      const [box, host] = [(await page.locator('.chat-box').boundingBox())!, (await chat.panel.boundingBox())!];
      assert.equal(Math.round(host.height), Math.round(box.height), 'the chat fills its 38rem box');
      assert.equal(await chat.panel.getAttribute('role'), 'region');

      stack.standIn.script({ type: 'reply', text: REPLY, chunkDelayMs: 10 });
      await chat.host.locator('[part~="starter"]', { hasText: 'How do I reset my password?' }).click();
      await chat.replies.first().locator('ol').waitFor();
      await chat.idle();
      await chat.waitForText(page.locator('#log'), /Last reply: \d+ tokens\./);
      await page.mouse.move(0, 0);
      await shot(page, 'inline', { docs: 'inline', clip: { x: 0, y: 0, width: 1100, height: Math.ceil(box.y + box.height + 24) } });
      let violations = await axeViolations(page, '#chat');
      assert.equal(violations.length, 0, `axe, inline light:\n${describeViolations(violations)}`);

      await page.getByLabel('dark').check();
      assert.equal(await chat.host.getAttribute('theme'), 'dark');
      assert.equal(await chat.panel.evaluate((el) => getComputedStyle(el).backgroundColor), 'rgb(23, 24, 28)');
      await shot(page, 'inline-dark');
      violations = await axeViolations(page, '#chat');
      assert.equal(violations.length, 0, `axe, inline dark:\n${describeViolations(violations)}`);

      await page.getByLabel('Français').check();
      assert.equal(await chat.input.getAttribute('placeholder'), 'Écrivez un message…');
      await page.getByLabel(/العربية/).check();
      assert.equal(await chat.panel.getAttribute('dir'), 'rtl');
      assert.deepEqual(w.errors, []);
    } finally {
      await w.close();
    }
  });

  it('classic script (IIFE): opens at load on the left, in French, and answers a suggested question', T, async () => {
    const w = await openPage(browser);
    try {
      const { page } = w;
      await page.goto(`${stack.url}/iife.html`);
      const chat = widget(page);
      await chat.input.waitFor();
      assert.equal(await page.locator('script[type=module]').count(), 0, 'no module script on this page');
      assert.equal(await chat.launcher.getAttribute('aria-label'), 'Fermer la discussion');
      assert.ok((await chat.launcher.boundingBox())!.x <= 21, 'bottom-left');
      assert.equal(await chat.input.getAttribute('placeholder'), 'Écrivez un message…');
      await chat.waitForText(chat.heading, 'Demo assistant');

      await chat.host.locator('[part~="starter"]', { hasText: 'Que sais-tu faire ?' }).click();
      await chat.waitForText(chat.replies, 'Echo: Que sais-tu faire ?');
      await chat.idle();
      await shot(page, 'iife');
      assert.deepEqual(w.errors, []);
    } finally {
      await w.close();
    }
  });

  it('theme gallery: three looks from custom properties and parts, each accessible', T, async () => {
    const w = await openPage(browser, { viewport: { width: 1200, height: 800 } });
    try {
      const { page } = w;
      await page.goto(`${stack.url}/themes.html`);
      const ocean = widget(page, '.ocean');
      await ocean.input.waitFor();
      stack.standIn.script({ type: 'reply', text: REPLY, chunkDelayMs: 5 });
      await ocean.ask('How do I reset my password?');
      await ocean.replies.first().locator('ol').waitFor();
      await ocean.idle();
      // The three share the key, so after a reload each shows the conversation in its own look.
      await page.reload();
      for (const theme of ['.ocean', '.paper', '.terminal']) await widget(page, theme).replies.first().locator('ol').waitFor();

      assert.match(await ocean.host.locator('[part~="header"]').evaluate((el) => getComputedStyle(el).backgroundImage), /linear-gradient/);
      const paper = widget(page, '.paper');
      assert.match(await paper.panel.evaluate((el) => getComputedStyle(el).fontFamily), /Georgia/);
      const terminal = widget(page, '.terminal');
      assert.equal(await terminal.input.evaluate((el) => getComputedStyle(el).backgroundColor), 'rgb(1, 4, 9)');

      await page.mouse.move(0, 0);
      const gallery = (await page.locator('.gallery').boundingBox())!;
      await shot(page, 'themes', { docs: 'custom-themes', clip: { x: gallery.x - 8, y: gallery.y - 8, width: gallery.width + 16, height: gallery.height + 16 } });
      for (const theme of ['.ocean', '.paper', '.terminal']) {
        const violations = await axeViolations(page, theme);
        assert.equal(violations.length, 0, `axe, ${theme} theme:\n${describeViolations(violations)}`);
      }
      assert.deepEqual(w.errors, []);
    } finally {
      await w.close();
    }
  });
});

describe('the demo page on the offline demo model (no MISTRAL_API_KEY)', () => {
  let stack: Stack;
  let browser: Browser;

  before(async () => {
    [stack, browser] = await Promise.all([startStack('pglite', { MISTRAL_API_KEY: '' }), launchBrowser()]);
  });
  after(async () => {
    await browser?.close();
    await stack?.close();
  });

  it("answers the page's suggested questions with what the chat can render, and says it is a demo", { timeout: 120_000 }, async () => {
    const w = await openPage(browser, { viewport: { width: 960, height: 900 } });
    try {
      const { page } = w;
      await page.goto(`${stack.url}/`);
      const chat = widget(page);
      await chat.launcher.click();
      const asked: [string, string][] = [
        ['Write a haiku about PostgreSQL', 'blockquote'],
        ['Show me a JavaScript snippet', 'pre[aria-label="Code (js)"]'],
        ['Compare the databases in a table', 'table[tabindex="0"]'],
      ];
      for (const [i, [starter, shows]] of asked.entries()) {
        if (i === 0) await chat.host.locator('[part~="starter"]', { hasText: starter }).click();
        else await chat.ask(starter);
        const reply = chat.replies.nth(i);
        await reply.locator(shows).waitFor({ timeout: 30_000 });
        await chat.idle();
        assert.match(await reply.innerText(), /Offline demo model/, `“${starter}”: says it is the demo`);
      }
      assert.equal(await chat.replies.count(), 3);
      assert.equal(stack.standIn.requests.length, 0, 'nothing went to Mistral (nor to its stand-in)');
      assert.deepEqual(w.errors, []);
    } finally {
      await w.close();
    }
  });
});
