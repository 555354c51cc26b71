/**
 * Two ports, two origins: a shop page on one, the proxy (and widget.js) on the other. CORS must let the
 * widget talk to its proxy, and an agent's origin allowlist must keep other sites out without a crash.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { updateAgent } from '../../src/server/data/agents.ts';
import { launchBrowser, openPage } from './helpers/browser.ts';
import { startSite, type Site } from './helpers/site.ts';
import { ALLOWED_ORIGIN, startStack, type Stack } from './helpers/stack.ts';
import { widget } from './helpers/widget.ts';

const T = { timeout: 60_000 };
/** What Chromium logs for a refused cross-origin read and for the failed load behind it. */
const CORS_NOISE = /blocked by CORS policy|net::ERR_FAILED/;

describe('a page on another origin than the proxy', () => {
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

  it('loads widget.js from the proxy and chats with it across origins', T, async () => {
    assert.notEqual(new URL(site.url).origin, new URL(stack.url).origin);
    const w = await openPage(browser);
    try {
      await w.page.goto(`${site.url}/pages/embed.html`);
      const chat = widget(w.page);
      await chat.launcher.click();
      await chat.waitForText(chat.heading, 'Demo assistant');
      await chat.ask('Do you ship abroad?');
      await chat.waitForText(chat.replies, 'Echo: Do you ship abroad?');
      await chat.idle();
      const sessionId = (await chat.sessionId(stack.keys.main))!;
      assert.equal((await stack.history(sessionId)).length, 2);
      assert.deepEqual(w.errors, []);
    } finally {
      await w.close();
    }
  });

  it("tells a page whose origin the agent does not allow that the assistant is not available there, and its owner how to fix it", T, async () => {
    // The proxy's answer: 403 origin_not_allowed, deliberately without a CORS grant (src/server/app.ts).
    const direct = await fetch(`${stack.url}/v1/agent`, { headers: { 'X-Api-Key': stack.keys.restricted, Origin: site.url } });
    assert.equal(direct.status, 403);
    assert.equal(((await direct.json()) as { error: { code: string } }).error.code, 'origin_not_allowed');
    assert.equal(direct.headers.get('access-control-allow-origin'), null);

    const w = await openPage(browser);
    try {
      await w.page.goto(`${site.url}/pages/embed.html?key=${stack.keys.restricted}`);
      const chat = widget(w.page);
      await chat.launcher.click();
      await chat.error.waitFor();
      assert.equal(await chat.error.getAttribute('role'), 'alert');
      // The browser cannot read the CORS-less 403 (it looks like a network failure), but /healthz answers this
      // page: so the proxy is up and refused this origin. Plain words, and no Retry that could only fail again.
      assert.match(await chat.error.innerText(), /This assistant is not available on this website/);
      assert.equal(await chat.retry.count(), 0);
      const errors = (await w.events()).filter((e) => e.type === 'error');
      assert.deepEqual(
        errors.map((e) => e.code),
        ['origin_not_allowed'],
      );

      // Still a working element: it closes and reopens with the same clear error, and no message can seem sent.
      await chat.closeButton.click();
      assert.equal(await chat.panel.isVisible(), false);
      await chat.launcher.click();
      await chat.error.waitFor();
      assert.match(await chat.error.innerText(), /not available on this website/);
      assert.equal(await chat.input.isDisabled(), true, 'the composer is off');
      assert.equal(await chat.userMessages.count(), 0);
      // One console error for the site owner, naming this page's origin and the command that allows it; besides
      // it, only the browser reporting the refused requests.
      const origin = new URL(site.url).origin;
      const told = w.errors.filter((e) => e.includes('<mistral-agent-chat>'));
      assert.equal(told.length, 1, `one note for the site owner: ${JSON.stringify(w.errors)}`);
      assert.ok(told[0]!.includes(origin) && told[0]!.includes('agent update') && told[0]!.includes('--allowed-origins'), told[0]);
      assert.deepEqual(
        w.errors.filter((e) => !CORS_NOISE.test(e) && !told.includes(e)),
        [],
        'no uncaught error',
      );
    } finally {
      await w.close();
    }
  });

  it('with a wrong key: tells the visitor calmly, takes no message, and tells the site owner what to fix', T, async () => {
    const wrong = 'mac_this_key_was_never_made_0123456789';
    const w = await openPage(browser);
    try {
      await w.page.goto(`${site.url}/pages/embed.html?key=${wrong}`);
      const chat = widget(w.page);
      await chat.launcher.click();
      await chat.error.waitFor();
      assert.equal(await chat.error.getAttribute('role'), 'alert');
      assert.equal((await chat.error.innerText()).trim(), 'This chat is not available right now: it is not set up correctly.');
      assert.equal(await chat.retry.count(), 0, 'no Retry that could only fail again');
      assert.equal(await chat.input.isDisabled(), true, 'no message can seem sent');
      assert.deepEqual((await w.events()).filter((e) => e.type === 'error').map((e) => e.code), ['invalid_api_key']);
      // One line for the site owner; besides it, only the browser reporting the refused requests (401).
      const told = w.errors.filter((e) => e.includes('<mistral-agent-chat>'));
      assert.equal(told.length, 1, JSON.stringify(w.errors));
      assert.ok(told[0]!.includes(stack.url) && told[0]!.includes(wrong.slice(0, 12)) && told[0]!.includes('agent list'), told[0]);
      assert.deepEqual(
        w.errors.filter((e) => !/status of 401/.test(e) && !told.includes(e)),
        [],
        'no uncaught error',
      );
    } finally {
      await w.close();
    }
  });

  it("answers a page once the agent's allowlist names its origin", T, async () => {
    await stack.admin((db) => updateAgent(db, stack.keys.restricted, { allowed_origins: [ALLOWED_ORIGIN, site.url] }));
    const w = await openPage(browser);
    try {
      await w.page.goto(`${site.url}/pages/embed.html?key=${stack.keys.restricted}`);
      const chat = widget(w.page);
      await chat.launcher.click();
      await chat.waitForText(chat.heading, 'Restricted assistant');
      await chat.ask('Am I allowed now?');
      await chat.waitForText(chat.replies, 'Echo: Am I allowed now?');
      assert.equal(await chat.error.count(), 0);
      assert.deepEqual(w.errors, []);
    } finally {
      await w.close();
    }
  });
});
