/**
 * The owner console end to end, in Chromium, against the real Node server on embedded PGlite (what
 * `npm start` runs) and on a fresh PostgreSQL database, with the offline demo model: an owner made as `owner create` makes them signs in at
 * /console, creates an agent, edits it (a refused value named, then a valid save), rotates its key, copies
 * the snippet; visitors chat with the agent through the widget on another site; the owner reads the
 * conversations in the inbox, opens a transcript, erases one and sees the statistics follow. Each screen is
 * also saved as a screenshot (the README's pictures: UPDATE_DOCS_SCREENSHOTS=1), light, dark and 390 px wide.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContextOptions, Page } from 'playwright-core';
import { createOwner } from '../../src/server/data/owners.ts';
import { launchBrowser, openPage, shot, type Watched } from './helpers/browser.ts';
import { startSite, type Site } from './helpers/site.ts';
import { backends, eventually, startStack, type Stack } from './helpers/stack.ts';
import { widget } from './helpers/widget.ts';

const T = { timeout: 120_000 };
const OWNER = { email: 'owner@example.test', password: 'correct horse battery staple' };
const VIEWPORT = { width: 1180, height: 820 };

interface Agent {
  id: string;
  name: string;
  api_key: string;
  temperature: number;
  instructions: string | null;
}

let stack: Stack;
let site: Site;
let browser: Browser;

/** The owner API as another client would call it: a token from POST /v1/owner/token, then Bearer. */
async function ownerApi<T>(path: string): Promise<T> {
  const signIn = await fetch(`${stack.url}/v1/owner/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(OWNER),
  });
  assert.equal(signIn.status, 200, await signIn.clone().text());
  const { access_token } = (await signIn.json()) as { access_token: string };
  const res = await fetch(`${stack.url}${path}`, { headers: { Authorization: `Bearer ${access_token}` } });
  assert.equal(res.status, 200, `${path}: ${await res.clone().text()}`);
  return (await res.json()) as T;
}

/** A console page, signed in as OWNER. */
async function signedIn(opts: BrowserContextOptions = {}): Promise<Watched> {
  const w = await openPage(browser, { viewport: VIEWPORT, colorScheme: 'light', ...opts });
  await w.page.goto(`${stack.url}/console`);
  await w.page.locator('#si-email').fill(OWNER.email);
  await w.page.locator('#si-password').fill(OWNER.password);
  await w.page.locator('.sign-in button[type=submit]').click();
  await w.page.locator('.nav').waitFor();
  return w;
}

const status = (page: Page, words: string | RegExp) => page.locator('[part=status]').filter({ hasText: words }).waitFor();
const confirmDialog = async (page: Page) => {
  await page.locator('#confirm[open]').waitFor();
  await page.locator('#confirm[open] button[value=confirm]').click();
};
const figure = (page: Page, n: number) => page.locator(`[part=figures] .figure:nth-child(${n}) dd`);

/** A visitor on the shop's own origin asks one question through the widget and waits for the whole reply. */
async function visitorAsks(key: string, question: string): Promise<string> {
  const w = await openPage(browser);
  try {
    await w.page.goto(`${site.url}/pages/embed.html?key=${encodeURIComponent(key)}`);
    const chat = widget(w.page);
    await chat.launcher.click();
    await chat.waitForText(chat.heading, 'Shop helper');
    await chat.ask(question);
    await chat.replies.first().waitFor();
    await chat.idle();
    const reply = (await chat.replies.first().innerText()).trim();
    assert.ok(reply.length > 0, 'the offline demo model answered');
    assert.deepEqual(w.errors, [], 'no error on the visitor page');
    return reply;
  } finally {
    await w.close();
  }
}

before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

for (const { backend, skip } of await backends()) {
  describe(`the owner console on ${backend}`, { skip }, () => {
    /** Screenshots once (PGlite, what `npm start` runs); `docs` also refreshes the README's picture. */
    const picture = async (page: Page, name: string, docs?: string) => {
      if (backend === 'pglite') await shot(page, name, docs ? { docs } : {});
    };

    before(async () => {
      // No MISTRAL_API_KEY: the offline demo model answers, as on a newcomer's `npm start`.
      stack = await startStack(backend, { MISTRAL_API_KEY: '' });
      await stack.admin((db) => db.transaction((tx) => createOwner(tx, OWNER.email, OWNER.password)));
      // the shop: another origin; its page takes the agent's key from ?key=
      site = await startSite({ proxy: stack.url, key: 'set-by-each-visit' });
    });
    after(async () => {
      await site?.close();
      await stack?.close();
    });

    describe('end to end', () => {
      let w: Watched;
      let page: Page;
      let agent: Agent;
      let oldKey: string;

      before(async () => {
        w = await signedIn({ permissions: ['clipboard-read', 'clipboard-write'] });
        page = w.page;
      });
      after(async () => {
        await w?.close();
      });

      it('signs in with the owner made on the command line, and shows only that owner\'s agents', T, async () => {
        assert.match(await page.locator('[part=header]').innerText(), /owner@example\.test/);
        // The stack's three agents belong to demo@localhost: row level security keeps them out of this console.
        assert.equal(await page.locator('.nav [data-agent]').count(), 0);
        const wrong = await fetch(`${stack.url}/v1/owner/token`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ email: OWNER.email, password: 'not the password' }),
        });
        assert.equal(wrong.status, 401);
      });

      it('creates an agent, refuses a bad value naming the field, then saves a valid edit', T, async () => {
        await page.locator('.new-agent').click();
        await page.locator('#f-name').fill('Shop helper');
        await page.locator('#f-instructions').fill('Answer questions about the shop, briefly.');
        await page.locator('.agent-form button[type=submit]').click();
        await page.locator('#tab-embed[aria-selected=true]').waitFor();
        await status(page, 'Agent “Shop helper” created.');
        const { agents } = await ownerApi<{ agents: Agent[] }>('/v1/owner/agents');
        assert.deepEqual(agents.map((a) => a.name), ['Shop helper']);
        agent = agents[0]!;

        await page.locator('#tab-settings').click();
        await page.locator('#f-temperature').fill('1.5');
        await page.locator('.agent-form button[type=submit]').click();
        assert.equal((await page.locator('#e-temperature').innerText()).trim(), 'Temperature: enter a number from 0 to 1.');
        assert.equal(await page.locator('#f-temperature').getAttribute('aria-invalid'), 'true');
        assert.equal((await ownerApi<Agent>(`/v1/owner/agents/${agent.id}`)).temperature, 0.7, 'nothing was sent');
        await page.locator('#f-temperature').scrollIntoViewIfNeeded();
        await picture(page, 'console-agent-invalid');

        await page.locator('#f-temperature').fill('0.2');
        await page.locator('.agent-form button[type=submit]').click();
        await status(page, 'Changes saved.');
        assert.equal(await page.locator('#e-temperature').count(), 0);
        assert.equal((await ownerApi<Agent>(`/v1/owner/agents/${agent.id}`)).temperature, 0.2);
      });

      it('rotates the key after a confirmation: the old key stops working', T, async () => {
        oldKey = agent.api_key;
        assert.equal((await page.locator('[part=api-key]').innerText()).trim(), oldKey);
        await page.locator('button.rotate').click();
        assert.equal((await page.locator('#dlg-h').innerText()).trim(), 'Rotate the widget key?');
        await confirmDialog(page);
        await status(page, 'New key made');
        agent = await ownerApi<Agent>(`/v1/owner/agents/${agent.id}`);
        assert.notEqual(agent.api_key, oldKey);
        await page.locator('[part=api-key]').filter({ hasText: agent.api_key }).waitFor();
        // "the old one stops within 5 s"
        await eventually(async () => (await fetch(`${stack.url}/v1/agent`, { headers: { 'X-Api-Key': oldKey } })).status === 401, 8_000, 'the old key refused');
        const fresh = await fetch(`${stack.url}/v1/agent`, { headers: { 'X-Api-Key': agent.api_key } });
        assert.deepEqual(await fresh.json(), { name: 'Shop helper', role: 'assistant' });
      });

      it('copies the script-tag snippet with the new key', T, async () => {
        await page.locator('#tab-embed').click();
        // The live preview: the real widget, talking to this agent.
        await page.locator('[part=preview] mistral-agent-chat [part~=heading]').filter({ hasText: 'Shop helper' }).waitFor({ timeout: 20_000 });
        await page.mouse.move(0, 0);
        await picture(page, 'console-embed', 'console-embed');
        const snippet = await page.locator('#script-0').textContent();
        assert.equal(snippet, `<script type="module" src="${stack.url}/widget.js"></script>\n<mistral-agent-chat api-key="${agent.api_key}"></mistral-agent-chat>\n`);
        await page.locator('button.copy', { hasText: 'Copy the script tag' }).click();
        await status(page, 'Copied to the clipboard.');
        assert.equal(await page.evaluate(() => navigator.clipboard.readText()), snippet);
      });

      it('shows visitors\' conversations in the inbox, latest first, and a transcript', T, async () => {
        const first = await visitorAsks(agent.api_key, 'How do I return an order?');
        await visitorAsks(agent.api_key, 'What are your opening hours?');

        await page.locator('#tab-conversations').click();
        const rows = page.locator('[part=conversation]');
        await eventually(async () => (await rows.count()) === 2, 10_000, 'two conversations in the inbox');
        assert.match(await rows.nth(0).innerText(), /2 messages/);
        assert.match(await rows.nth(1).innerText(), /2 messages/);

        await rows.nth(1).click();
        const transcript = page.locator('[part=transcript]');
        await transcript.waitFor();
        await transcript.locator('[part~=transcript-message]').nth(1).waitFor();
        const texts = await transcript.locator('[part~=transcript-message]').allInnerTexts();
        assert.equal(texts.length, 2);
        assert.match(texts[0]!, /How do I return an order\?/);
        // The reply rendered from Markdown: compare its words, not its layout.
        const words = (s: string) => s.replace(/\s+/g, ' ').trim();
        assert.ok(words(texts[1]!).includes(words(first).slice(0, 40)), `the transcript shows the reply:\n${texts[1]}\n---\n${first}`);
        await page.mouse.move(0, 0);
        await picture(page, 'console-transcript', 'console-transcript');
      });

      it('reads the statistics, erases a conversation after a confirmation, and the statistics follow', T, async () => {
        await page.locator('#tab-statistics').click();
        await figure(page, 1).filter({ hasText: /^2$/ }).waitFor();
        assert.equal((await figure(page, 2).innerText()).trim(), '4', 'messages');
        await page.locator('[part=chart]').first().waitFor();
        await page.mouse.move(0, 0);
        await picture(page, 'console-statistics', 'console-statistics');

        // Back on the tab, the transcript opened before is still there: erase that conversation.
        await page.locator('#tab-conversations').click();
        await page.locator('[part=transcript]').filter({ hasText: 'How do I return an order?' }).waitFor();
        await page.locator('button.erase').click();
        assert.equal((await page.locator('#dlg-b').innerText()).trim(), 'Its 2 messages are erased for good, and the statistics no longer count them.');
        await confirmDialog(page);
        await status(page, 'Conversation erased.');
        const rows = page.locator('[part=conversation]');
        await eventually(async () => (await rows.count()) === 1, 10_000, 'one conversation left');
        assert.match(await rows.nth(0).innerText(), /opening hours/);

        await page.locator('#tab-statistics').click();
        await figure(page, 1).filter({ hasText: /^1$/ }).waitFor();
        assert.equal((await figure(page, 2).innerText()).trim(), '2');
        const { agents } = await ownerApi<{ agents: { agent_id: string; total_conversations: number; total_messages: number }[] }>('/v1/owner/statistics');
        assert.deepEqual(
          agents.map((a) => [a.agent_id, Number(a.total_conversations), Number(a.total_messages)]),
          [[agent.id, 1, 2]],
        );

        await page.locator('.nav button', { hasText: 'Overview' }).click();
        await page.locator('[part=overview-table]').filter({ hasText: 'Shop helper' }).waitFor();
        await page.mouse.move(0, 0);
        await picture(page, 'console-overview', 'console-overview');
        assert.deepEqual(w.errors, [], 'no uncaught error and no console error in the console');
      });
    });

    if (backend === 'pglite') describe('in the dark and on a phone (screenshots)', () => {
      it('shows the overview and the inbox in the dark theme', T, async () => {
        const w = await signedIn({ colorScheme: 'dark' });
        try {
          await w.page.locator('[part=overview-table]').waitFor();
          await w.page.mouse.move(0, 0);
          await picture(w.page, 'console-overview-dark');
          await w.page.locator('.nav [data-agent]').first().click();
          await w.page.locator('#tab-conversations').click();
          await w.page.locator('[part=conversation]').first().click();
          await w.page.locator('[part=transcript]').waitFor();
          await w.page.mouse.move(0, 0);
          await picture(w.page, 'console-transcript-dark', 'console-transcript-dark');
          assert.deepEqual(w.errors, []);
        } finally {
          await w.close();
        }
      });

      it('is usable 390 px wide: the agent\'s statistics fit without sideways scrolling', T, async () => {
        const w = await signedIn({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
        try {
          await w.page.locator('.nav [data-agent]').first().click();
          await w.page.locator('#tab-statistics').click();
          await w.page.locator('[part=chart]').first().waitFor();
          const overflow = await w.page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
          assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow} px`);
          await w.page.mouse.move(0, 0);
          await picture(w.page, 'console-mobile', 'console-mobile');
          assert.deepEqual(w.errors, []);
        } finally {
          await w.close();
        }
      });
    });
  });
}
