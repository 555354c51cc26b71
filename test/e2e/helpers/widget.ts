/**
 * The `<mistral-agent-chat>` on a page, seen through its documented parts (playwright's CSS locators
 * pierce open shadow roots), the way a visitor uses it.
 */
import type { Locator, Page } from 'playwright-core';

const part = (host: Locator, name: string) => host.locator(`[part~="${name}"]`);

export function widget(page: Page, selector = 'mistral-agent-chat') {
  const host = page.locator(selector);
  const input = part(host, 'input');
  const send = part(host, 'send');
  return {
    host,
    launcher: part(host, 'launcher'),
    panel: part(host, 'panel'),
    heading: part(host, 'heading'),
    input,
    composer: part(host, 'composer'),
    send,
    stop: part(host, 'stop'),
    newButton: part(host, 'new-button'),
    closeButton: part(host, 'close-button'),
    userMessages: part(host, 'message-user'),
    /** Agent replies: not the welcome message, not the typing indicator. */
    replies: host.locator('[part~="message-assistant"]:not([part~="welcome"]):not([part~="typing"])'),
    typing: part(host, 'typing'),
    error: part(host, 'error'),
    retry: part(host, 'retry'),
    note: part(host, 'note'),
    markdown: part(host, 'markdown'),

    /** Types `text` and presses Enter, as a visitor does. */
    async ask(text: string) {
      await input.fill(text);
      await input.press('Enter');
    },

    /** Waits until `locator` (its first match) shows `text`. */
    async waitForText(locator: Locator, text: string | RegExp) {
      await locator.filter({ hasText: text }).first().waitFor();
    },

    /** Waits until no reply is in flight (the Stop button turned back into Send). */
    async idle() {
      await send.waitFor();
    },

    /** The session id the widget keeps in localStorage for this key. */
    sessionId(key: string): Promise<string | null> {
      return page.evaluate((k) => localStorage.getItem(`mistral-agent-chat:session:${k.slice(0, 12)}`), key);
    },
  };
}

export type Widget = ReturnType<typeof widget>;
