/**
 * Continuity through the script-tag embed, in Chromium against the real server (issue 13 items 3 to 5,
 * issue 14 item 5): a visitor who follows a link mid-reply reads the whole reply on the next page; two
 * tabs of one site show one conversation live; a stopped reply reads the same, marked stopped, after a reload;
 * a signed-in visitor finds their conversation on a second device, and a signed-out one sees none of it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { axeViolations, launchBrowser, openPage, type Watched } from './helpers/browser.ts';
import { startSite, type Site } from './helpers/site.ts';
import { eventually, startStack, type Stack } from './helpers/stack.ts';
import { widget } from './helpers/widget.ts';
import { newIdentitySecret, userToken } from '../helpers/user-token.ts';

const T = { timeout: 90_000 };
const STORY = 'Once upon a time there was a widget that streamed its replies word by word. '.repeat(8).trim();
/** Markdown whose last words are a link: a reply stopped inside it must read the same after a reload. */
const LINKED = `${'The proxy keeps every conversation in PostgreSQL and streams the reply as it comes. '.repeat(5)}See the [Mistral documentation](https://docs.mistral.ai/) for more.`;

let browser: Browser;
let stack: Stack;
let site: Site;
const pages: Watched[] = [];

before(async () => {
  browser = await launchBrowser();
  stack = await startStack('pglite');
  site = await startSite({ proxy: stack.url, key: stack.keys.main });
});
after(async () => {
  for (const w of pages) await w.close().catch(() => {});
  await site?.close();
  await stack?.close();
  await browser?.close();
});

const page = async () => {
  const w = await openPage(browser);
  pages.push(w);
  return w;
};
const markdown = async (chat: ReturnType<typeof widget>) => (await chat.replies.last().locator('[part~="markdown"]').innerText()).trim();

describe('continuity (script-tag embed, real server, PGlite)', () => {
  it('a visitor who follows a link mid-reply reads the whole reply on the next page', T, async () => {
    const w = await page();
    await w.page.goto(`${site.url}/pages/embed.html`);
    const chat = widget(w.page);
    await chat.launcher.click();
    const before = stack.standIn.requests.length;
    stack.standIn.script({ type: 'reply', text: STORY, chunkDelayMs: 60 });
    await chat.ask('Tell me a long story');
    await eventually(async () => (await chat.replies.first().innerText()).length > 20, 15_000, 'the first words');

    await w.page.goto(`${site.url}/pages/page-two.html`);
    const two = widget(w.page);
    // The panel is closed on the new page: the launcher says a reply came.
    await two.host.locator('[part~="unread-badge"]').waitFor({ timeout: 30_000 });
    assert.match((await two.launcher.getAttribute('aria-label')) ?? '', /1 unread/);
    await two.launcher.click();
    await eventually(async () => (await markdown(two)) === STORY, 15_000, 'the whole reply on page two');
    assert.equal(await two.note.count(), 0, 'not marked stopped');
    assert.equal(await stack.standIn.requests[before]!.outcome, 'finished', 'the proxy read Mistral to the end');
    const stored = await stack.history((await two.sessionId(stack.keys.main))!);
    assert.equal(stored.at(-1)?.content, STORY);
    assert.deepEqual(w.errors, []);
  });

  it('two tabs of one site show one conversation live, with one reply streaming at a time', T, async () => {
    const a = await page();
    const b = await a.page.context().newPage();
    await a.page.goto(`${site.url}/pages/embed.html`);
    await b.goto(`${site.url}/pages/embed.html`);
    const chatA = widget(a.page);
    const chatB = widget(b);
    await chatA.launcher.click();
    await chatB.launcher.click();
    await chatB.input.waitFor();
    stack.standIn.script({ type: 'reply', text: STORY, chunkDelayMs: 60 });
    const before = stack.standIn.requests.length;
    await chatA.ask('Tab A asks');
    await chatB.waitForText(chatB.userMessages.last(), 'Tab A asks');
    // B mirrors the reply while it streams, and takes no message meanwhile.
    await eventually(async () => (await chatB.replies.count()) === 1 && (await chatB.replies.first().innerText()).length > 20, 15_000, 'B streams');
    assert.equal(await chatB.stop.count(), 1, "B's composer is busy");
    await chatA.idle();
    await chatB.idle();
    await eventually(async () => (await markdown(chatB)) === STORY, 10_000, 'B shows the whole reply');
    assert.equal(await markdown(chatA), STORY);
    assert.equal(stack.standIn.requests.length, before + 1, 'one turn only');
    await b.close();
  });

  it('a stopped reply reads the same, marked stopped, after a reload', T, async () => {
    const w = await page();
    await w.page.goto(`${site.url}/pages/embed.html`);
    const chat = widget(w.page);
    await chat.launcher.click();
    stack.standIn.script({ type: 'reply', text: LINKED, chunkDelayMs: 60 });
    await chat.ask('Where is the documentation?');
    await eventually(async () => (await chat.replies.first().innerText()).length > 120, 20_000, 'some words');
    await chat.stop.click();
    await chat.waitForText(chat.note, 'Stopped.');
    await chat.idle();
    const shown = await markdown(chat);
    assert.ok(shown.length > 120 && shown.length < LINKED.length, `partial: "${shown}"`);

    const stored = await stack.history((await chat.sessionId(stack.keys.main))!);
    assert.equal(stored.at(-1)?.stopped, true);
    await w.page.reload();
    const again = widget(w.page);
    await again.launcher.click();
    await again.waitForText(again.note, 'Stopped.');
    assert.equal(await markdown(again), shown, 'the same text after the reload');
    assert.deepEqual(await axeViolations(w.page), []);
    assert.deepEqual(w.errors, []);
  });
});

describe('a signed-in visitor on two devices (script-tag embed, real server, PGlite)', () => {
  const SECRET = newIdentitySecret();
  const sign = (sub: string) => userToken(SECRET, sub);
  /** The embed page with the token the shop's backend would print into it. */
  const open = async (token: string) => {
    const w = await page();
    await w.page.goto(`${site.url}/pages/embed.html`);
    await w.page.evaluate((t) => document.querySelector('mistral-agent-chat')!.setAttribute('user-token', t), token);
    const chat = widget(w.page);
    await chat.launcher.click();
    return { w, chat };
  };

  before(async () => {
    await stack.admin((db) => db.query('update public.agents set identity_secret = $1 where api_key = $2', [SECRET, stack.keys.main]));
  });
  after(async () => {
    await stack.admin((db) => db.query('update public.agents set identity_secret = null where api_key = $1', [stack.keys.main]));
  });

  it('finds the conversation of the first device in the switcher of the second, reopens it and continues it', T, async () => {
    const token = sign(`user_${Date.now()}`);
    const first = await open(token);
    await first.chat.ask('Where is my order 1234?');
    await first.chat.idle();
    await first.chat.replies.first().waitFor();
    const session = await first.chat.sessionId(stack.keys.main);

    // Another browser profile: its own storage, so a new session, but the same user.
    const second = await open(token);
    assert.notEqual(await second.chat.sessionId(stack.keys.main), session);
    await second.chat.host.locator('[part~="conversations-button"]').click();
    const item = second.chat.host.locator('[part~="conversation"]', { hasText: 'Where is my order 1234?' });
    await item.click();
    await second.chat.waitForText(second.chat.userMessages.first(), 'Where is my order 1234?');
    assert.equal(await second.chat.sessionId(stack.keys.main), session);
    assert.deepEqual(await axeViolations(second.w.page), []);
    await second.chat.ask('And when will it arrive?');
    await second.chat.idle();
    await eventually(async () => (await second.chat.replies.count()) === 2, 10_000, 'the second reply');
    const res = await fetch(`${stack.url}/v1/sessions/${session}/messages`, { headers: { 'X-Api-Key': stack.keys.main, 'X-User-Token': token } });
    const { messages } = (await res.json()) as { messages: { content: string }[] };
    assert.deepEqual(messages.map((m) => m.content).filter((c) => !c.startsWith('Echo')), ['Where is my order 1234?', 'And when will it arrive?'], 'one conversation');

    // Rated on the second device: the first sees the rating after a reload.
    await second.chat.host.locator('[part~="feedback-up"]').first().click();
    await eventually(async () => (await second.chat.host.locator('[part~="feedback-up"]').first().getAttribute('aria-pressed')) === 'true');
    await first.w.page.reload();
    await first.w.page.evaluate((t) => document.querySelector('mistral-agent-chat')!.setAttribute('user-token', t), token);
    const again = widget(first.w.page);
    await again.launcher.click();
    await eventually(async () => (await again.host.locator('[part~="feedback-up"]').first().getAttribute('aria-pressed')) === 'true', 10_000, 'the rating restored');
    assert.deepEqual(first.w.errors, []);
    assert.deepEqual(second.w.errors, []);
  });

  it('an anonymous visitor of the same browser never sees a signed-in conversation', T, async () => {
    const token = sign(`user_${Date.now()}`);
    const { w, chat } = await open(token);
    await chat.ask('My private question');
    await chat.idle();
    // Signed out: the page drops the token.
    await w.page.evaluate(() => document.querySelector('mistral-agent-chat')!.removeAttribute('user-token'));
    await eventually(async () => (await chat.userMessages.count()) === 0, 10_000, 'the conversation gone');
    assert.equal(await chat.host.locator('[part~="conversations-button"]').count(), 0);
  });
});
