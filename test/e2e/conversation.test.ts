/**
 * A visitor's conversation through the script-tag embed (the demo page `/`, same origin as the proxy,
 * and a shop page on another origin), on embedded PGlite and on a fresh PostgreSQL database.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchBrowser, openPage, type Watched } from './helpers/browser.ts';
import { startSite, type Site } from './helpers/site.ts';
import { backends, eventually, startStack, type Stack } from './helpers/stack.ts';
import { widget } from './helpers/widget.ts';

const T = { timeout: 60_000 };

const MARKDOWN = [
  '## Opening hours',
  '',
  'We are open:',
  '',
  '- **Monday to Friday**: 9:00 to 18:00',
  '- **Saturday**: 10:00 to 16:00',
  '',
  'From a script:',
  '',
  '```js',
  'const open = await shop.isOpen();',
  '```',
  '',
].join('\n');

const STORY = 'Once upon a time there was a widget that streamed its replies word by word. '.repeat(8);

/**
 * Rate limits count in fixed one-minute windows (the database's clock, this machine's): wait out the
 * last seconds of a minute, so that two quick turns fall in the same window.
 */
async function sameMinuteAhead() {
  const s = new Date().getSeconds();
  if (s >= 50) await new Promise((r) => setTimeout(r, (61 - s) * 1000));
}

let browser: Browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

for (const { backend, skip } of await backends()) {
  describe(`a conversation on ${backend}`, { skip }, () => {
    let stack: Stack;
    let site: Site;
    let w: Watched;

    before(async () => {
      stack = await startStack(backend);
      site = await startSite({ proxy: stack.url, key: stack.keys.main });
    });
    after(async () => {
      await site?.close();
      await stack?.close();
    });

    /** A fresh browser profile per test: its own localStorage, so its own session. */
    const visit = async (url: string) => {
      w = await openPage(browser);
      await w.page.goto(url);
      return widget(w.page);
    };
    const leave = async () => {
      const errors = w.errors;
      await w.close();
      assert.deepEqual(errors, [], 'no uncaught error and no console error');
    };

    it('opens from the launcher, streams a formatted reply and restores the conversation after a reload', T, async () => {
      const chat = await visit(`${stack.url}/`);
      await chat.launcher.click();
      await chat.waitForText(chat.heading, 'Demo assistant');
      assert.equal(await chat.launcher.getAttribute('aria-expanded'), 'true');

      stack.standIn.script({ type: 'reply', text: MARKDOWN, chunkDelayMs: 100 });
      await chat.ask('When are you open?');
      await chat.waitForText(chat.userMessages, 'When are you open?');
      // While it streams: the Stop button, and a reply that grows.
      await chat.stop.waitFor();
      await chat.replies.first().waitFor();
      const early = (await chat.replies.first().innerText()).length;
      await chat.idle();
      const reply = chat.replies.first();
      assert.ok(early < (await reply.innerText()).length, `the reply grew while streaming (${early} characters at first)`);

      // Markdown rendered as elements, not shown as source.
      assert.equal(await reply.locator('h2').textContent(), 'Opening hours');
      assert.deepEqual(await reply.locator('li').allInnerTexts(), ['Monday to Friday: 9:00 to 18:00', 'Saturday: 10:00 to 16:00']);
      assert.equal(await reply.locator('li strong').first().textContent(), 'Monday to Friday');
      assert.equal((await reply.locator('pre code').textContent())?.trim(), 'const open = await shop.isOpen();');
      assert.ok(!(await reply.innerText()).includes('##'), 'no Markdown syntax left over');

      const events = await w.events();
      assert.deepEqual(
        events.map((e) => e.type),
        ['open', 'send', 'response'],
      );
      assert.equal(events[2]!.text, MARKDOWN, 'the response event carries the Markdown source');

      const sessionId = await chat.sessionId(stack.keys.main);
      assert.ok(sessionId);
      const stored = await stack.history(sessionId);
      assert.deepEqual(
        stored.map((m) => [m.role, m.content]),
        [
          ['user', 'When are you open?'],
          ['assistant', MARKDOWN],
        ],
      );

      await w.page.reload();
      await chat.launcher.click();
      await chat.replies.first().locator('h2').waitFor();
      assert.deepEqual(await chat.userMessages.allInnerTexts(), ['When are you open?']);
      assert.equal(await chat.replies.count(), 1);
      assert.equal(await chat.replies.first().locator('li').count(), 2, 'the restored reply is formatted too');
      assert.equal(await chat.sessionId(stack.keys.main), sessionId, 'same session after the reload');
      await leave();
    });

    it('lets every finished reply complete in the network panel (none shown as cancelled)', T, async () => {
      const chat = await visit(`${stack.url}/`);
      const failed: string[] = [];
      const finished: string[] = [];
      w.page.on('requestfailed', (r) => failed.push(`${r.method()} ${new URL(r.url()).pathname}: ${r.failure()?.errorText}`));
      w.page.on('requestfinished', (r) => r.method() === 'POST' && finished.push(new URL(r.url()).pathname));
      await chat.launcher.click();
      for (const n of [1, 2, 3]) {
        stack.standIn.script({ type: 'reply', text: `Reply number ${n}, in a few chunks.`, chunkDelayMs: 10 });
        await chat.ask(`Question ${n}`);
        await chat.waitForText(chat.replies.nth(n - 1), `Reply number ${n}`);
        await chat.idle();
      }
      await eventually(async () => finished.length === 3, 5_000, 'three finished POST /v1/chat');
      assert.deepEqual(finished, ['/v1/chat', '/v1/chat', '/v1/chat']);
      assert.deepEqual(failed, [], 'no request failed or was cancelled (net::ERR_ABORTED)');
      await leave();
    });

    it('starts a new conversation: a new session, an empty list, an empty history', T, async () => {
      const chat = await visit(`${stack.url}/`);
      await chat.launcher.click();
      await chat.ask('Remember me?');
      await chat.waitForText(chat.replies, 'Echo: Remember me?');
      await chat.idle();
      const first = (await chat.sessionId(stack.keys.main))!;

      await chat.newButton.click();
      assert.equal(await chat.userMessages.count(), 0);
      assert.equal(await chat.replies.count(), 0);
      const second = await chat.sessionId(stack.keys.main);
      assert.ok(second && second !== first, 'a new session id is stored');
      assert.deepEqual(await stack.history(second), []);
      assert.equal((await stack.history(first)).length, 2, 'the old conversation stays stored');

      await w.page.reload();
      await chat.launcher.click();
      await chat.waitForText(chat.heading, 'Demo assistant');
      await chat.composer.waitFor();
      assert.equal(await chat.userMessages.count(), 0, 'still empty after a reload');
      assert.equal(await chat.sessionId(stack.keys.main), second);

      await chat.ask('A fresh start');
      await chat.waitForText(chat.replies, 'Echo: A fresh start');
      assert.deepEqual(
        (await stack.history(second)).map((m) => m.content),
        ['A fresh start', 'Echo: A fresh start'],
      );
      await leave();
    });

    it('keeps the partial reply on screen and in the history when the visitor presses Stop', T, async () => {
      const chat = await visit(`${stack.url}/`);
      await chat.launcher.click();
      const before = stack.standIn.requests.length;
      stack.standIn.script({ type: 'reply', text: STORY, chunkDelayMs: 80 });
      await chat.ask('Tell me a long story');
      await eventually(async () => (await chat.replies.first().innerText()).length > 40, 15_000, 'the first words');
      await chat.stop.click();

      await chat.waitForText(chat.note, 'Stopped.');
      await chat.idle();
      const shown = (await chat.replies.first().locator('[part~="markdown"]').innerText()).trim();
      assert.ok(shown.length > 40 && STORY.startsWith(shown), `the partial reply stays: "${shown}"`);
      assert.ok(shown.length < STORY.trim().length, 'and it is partial');
      assert.equal(await stack.standIn.requests[before]!.outcome, 'client-closed', 'the proxy hung up on Mistral');

      const sessionId = (await chat.sessionId(stack.keys.main))!;
      const stored = await eventually(async () => {
        const messages = await stack.history(sessionId);
        return messages.length === 2 ? messages : null;
      }, 10_000, 'the partial reply to be stored');
      assert.equal(stored[0]!.content, 'Tell me a long story');
      assert.equal(stored[1]!.role, 'assistant');
      assert.ok(STORY.startsWith(stored[1]!.content), 'stored: a prefix of the reply');
      assert.ok(stored[1]!.content.startsWith(shown), `stored at least what was shown: "${stored[1]!.content}"`);
      assert.ok(!(await w.events()).some((e) => e.type === 'response'), 'no response event for a stopped reply');

      // The conversation goes on.
      await chat.ask('Shorter, please');
      await chat.waitForText(chat.replies.nth(1), 'Echo: Shorter, please');
      await leave();
    });

    it('tells the visitor how many seconds to wait when the session is over its rate limit', T, async () => {
      // A shop page on another origin; its agent allows one turn per session per minute.
      const chat = await visit(`${site.url}/pages/embed.html?key=${stack.keys.limited}`);
      await sameMinuteAhead();
      await chat.launcher.click();
      await chat.ask('First question');
      await chat.waitForText(chat.replies, 'Echo: First question');
      await chat.idle();
      const calls = stack.standIn.requests.length;

      await chat.ask('Second question');
      await chat.error.waitFor();
      const text = await chat.error.innerText();
      const seconds = Number(/Please wait (\d+) seconds/.exec(text)?.[1]);
      assert.ok(seconds >= 1 && seconds <= 60, `a wait in seconds: "${text}"`);
      assert.equal(await chat.error.getAttribute('role'), 'alert');
      await chat.retry.waitFor();
      assert.equal(stack.standIn.requests.length, calls, 'the refused turn never reached Mistral');
      const error = (await w.events()).find((e) => e.type === 'error');
      assert.equal(error?.code, 'rate_limited');

      const sessionId = (await chat.sessionId(stack.keys.limited))!;
      assert.deepEqual(
        (await stack.history(sessionId, stack.keys.limited)).map((m) => m.content),
        ['First question', 'Echo: First question'],
        'nothing of the refused turn is stored',
      );
      // The browser logs the 429 as a failed resource load; that is the only console error.
      w.errors.splice(0, w.errors.length, ...w.errors.filter((e) => !/status of 429/.test(e)));
      await leave();
    });
  });
}
