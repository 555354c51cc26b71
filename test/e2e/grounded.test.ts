/**
 * A grounded answer end to end: the demo page's agent linked to a Mistral agent, the real server on
 * embedded PGlite and on PostgreSQL, the Conversations stand-in running a document search and citing two
 * sources. The visitor sees what the agent is doing, the reply, and its sources under it (a link that opens
 * in a new tab, a document without a URL as text); after a reload the sources are back.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { axeViolations, describeViolations, launchBrowser, openPage, type Watched } from './helpers/browser.ts';
import { backends, startStack, type Stack } from './helpers/stack.ts';
import { widget } from './helpers/widget.ts';

const T = { timeout: 60_000 };
const MISTRAL_AGENT = 'ag_e2e_handbook';

let browser: Browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

for (const { backend, skip } of await backends()) {
  describe(`a grounded answer on ${backend}`, { skip }, () => {
    let stack: Stack;
    let w: Watched;

    before(async () => {
      stack = await startStack(backend);
      await stack.admin((db) => db.query('update public.agents set mistral_agent_id = $2 where api_key = $1', [stack.keys.main, MISTRAL_AGENT]));
    });
    after(async () => {
      await stack?.close();
    });

    it('shows the sources under the reply, opens a source in a new tab, and restores them after a reload', T, async () => {
      // A page the proxy really serves, so the new tab has somewhere to go.
      const sourceUrl = `${stack.url}/healthz?from=source`;
      stack.standIn.scriptConversation({
        type: 'reply',
        chunkDelayMs: 60,
        steps: [
          { type: 'started' },
          { type: 'tool', name: 'document_library', state: 'started', arguments: '{"query":"equipment allowance"}' },
          { type: 'raw', event: 'tool.execution.delta', data: { type: 'tool.execution.delta', id: 't', name: 'document_library', arguments: '' } },
          { type: 'raw', event: 'tool.execution.delta', data: { type: 'tool.execution.delta', id: 't', name: 'document_library', arguments: '' } },
          { type: 'raw', event: 'tool.execution.delta', data: { type: 'tool.execution.delta', id: 't', name: 'document_library', arguments: '' } },
          { type: 'tool', name: 'document_library', state: 'done', info: {} },
          { type: 'text', text: 'Employees can claim **up to €500** a year for home-office equipment', chunkSize: 12 },
          { type: 'reference', title: 'Employee handbook', url: sourceUrl, description: 'Equipment, leave and remote work.' },
          { type: 'text', text: '; receipts are due within 30 days.' },
          { type: 'reference', title: 'Remote-Work-Policy-2026.pdf', url: null },
          { type: 'done', usage: { prompt_tokens: 40, completion_tokens: 20, total_tokens: 560, connector_tokens: 500 } },
        ],
      });

      w = await openPage(browser);
      await w.page.goto(`${stack.url}/`);
      const chat = widget(w.page);
      await chat.launcher.click();
      await chat.ask('How much can I spend on equipment?');
      // While the library is searched, the visitor is told so.
      await chat.waitForText(chat.typing, 'Searching the documentation…');
      await chat.idle();

      const reply = chat.replies.first();
      assert.match(await reply.innerText(), /Employees can claim up to €500 a year/);
      const sources = reply.locator('[part~="sources"]');
      await sources.waitFor();
      assert.equal(await sources.locator('ol').getAttribute('aria-label'), 'Sources');
      const items = sources.locator('[part~="source"]');
      assert.equal(await items.count(), 2);
      const link = items.first().locator('a');
      assert.equal(await link.textContent(), 'Employee handbook');
      assert.equal(await link.getAttribute('target'), '_blank');
      assert.equal(await link.getAttribute('rel'), 'noopener noreferrer');
      const host = new URL(stack.url).hostname;
      assert.ok((await items.first().innerText()).includes(host), 'the link names its domain');
      assert.equal(await items.nth(1).locator('a').count(), 0, 'a document without a URL is plain text');
      assert.equal((await items.nth(1).innerText()).trim(), 'Remote-Work-Policy-2026.pdf');

      // Clickable: a new tab opens on the source, without an opener.
      const [tab] = await Promise.all([w.page.context().waitForEvent('page'), link.click()]);
      await tab.waitForLoadState();
      assert.equal(tab.url(), sourceUrl);
      assert.equal(await tab.evaluate(() => window.opener), null);
      await tab.close();

      const violations = await axeViolations(w.page);
      assert.deepEqual(violations, [], describeViolations(violations));

      // Stored with the reply: the history call returns them, and a reload shows them again.
      const sessionId = (await chat.sessionId(stack.keys.main))!;
      const stored = await stack.history(sessionId);
      assert.deepEqual(stored.at(-1)?.sources, [
        { id: '1', title: 'Employee handbook', url: sourceUrl, snippet: 'Equipment, leave and remote work.' },
        { id: '2', title: 'Remote-Work-Policy-2026.pdf' },
      ]);
      await w.page.reload();
      await chat.launcher.click();
      await chat.replies.first().locator('[part~="source"] a').waitFor();
      assert.deepEqual(await chat.replies.first().locator('[part~="source"]').allInnerTexts().then((t) => t.map((s) => s.split('\n')[0]!.trim())), [
        `Employee handbook ${host}`,
        'Remote-Work-Policy-2026.pdf',
      ]);
      const errors = w.errors;
      await w.close();
      assert.deepEqual(errors, [], 'no uncaught error and no console error');
    });
  });
}
