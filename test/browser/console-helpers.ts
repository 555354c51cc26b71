/** Mounting and driving `<mistral-agent-console>` against the fake owner API (fake-owner-api.ts). */
import { fixture, html, waitUntil } from '@open-wc/testing';
import '../../src/console/define.ts';
import type { MistralAgentConsole } from '../../src/console/index.ts';
import { ENDPOINT, OWNER } from './fake-owner-api.ts';

export type Console = MistralAgentConsole;

export const $ = <T extends Element = HTMLElement>(el: Console, sel: string) => el.shadowRoot!.querySelector<T>(sel);
export const $$ = <T extends Element = HTMLElement>(el: Console, sel: string) => [...el.shadowRoot!.querySelectorAll<T>(sel)];
/** The element matching `sel`, once it is rendered. */
export async function find<T extends Element = HTMLElement>(el: Console, sel: string, what = sel): Promise<T> {
  await waitUntil(() => $(el, sel), `waiting for ${what}`, { timeout: 5000 });
  return $<T>(el, sel)!;
}
/** Whitespace-normalised text of the shadow root's element matching `sel`. */
export const text = (el: Console, sel: string) => ($(el, sel)?.textContent ?? '').replace(/\s+/g, ' ').trim();

export const mount = (opts: { lang?: string; theme?: string; widgetSrc?: string } = {}) =>
  fixture<Console>(html`<mistral-agent-console endpoint=${ENDPOINT} lang=${opts.lang ?? 'en'} theme=${opts.theme ?? 'light'}
    widget-src=${opts.widgetSrc ?? '/src/widget.ts'}></mistral-agent-console>`);

export function type(input: HTMLInputElement | HTMLTextAreaElement, value: string) {
  input.value = value;
  input.dispatchEvent(new Event('input', { bubbles: true, composed: true }));
}

/** Fills and submits the sign-in form. */
export async function submitSignIn(el: Console, email = OWNER.email, password = OWNER.password) {
  type(await find<HTMLInputElement>(el, '#si-email'), email);
  type($<HTMLInputElement>(el, '#si-password')!, password);
  $<HTMLButtonElement>(el, '.sign-in button[type=submit]')!.click();
}

/** A console signed in as OWNER, its agents loaded. */
export async function signedIn(opts: Parameters<typeof mount>[0] = {}) {
  const el = await mount(opts);
  await submitSignIn(el);
  await find(el, '.nav', 'the signed-in console');
  await waitUntil(() => !$(el, '.main .loading'), 'agents loaded');
  return el;
}

/** Lets dialogs and status updates settle (two animation frames). */
export const frames = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));

/** Answers the open confirmation dialog (`confirm` or `cancel`). */
export async function answerDialog(el: Console, value: 'confirm' | 'cancel') {
  const dialog = await find<HTMLDialogElement>(el, '#confirm[open]', 'the confirmation dialog');
  const closed = new Promise((r) => dialog.addEventListener('close', r, { once: true }));
  dialog.querySelector<HTMLButtonElement>(`button[value=${value}]`)!.click();
  await closed;
  await el.updateComplete;
}

/** Clicks the nav entry of an agent, then one of its tabs. */
export async function openAgent(el: Console, agentId: string, tab?: 'settings' | 'embed' | 'conversations' | 'statistics') {
  (await find<HTMLButtonElement>(el, `.nav [data-agent="${agentId}"]`)).click();
  if (tab) (await find<HTMLButtonElement>(el, `#tab-${tab}`)).click();
  await el.updateComplete;
}

/** Waits until the status line (a polite live region) says something containing `words`. */
export async function statusSays(el: Console, words: string) {
  await waitUntil(() => text(el, '[part=status]').includes(words), `the status line to say “${words}”`, { timeout: 5000 }).catch(() => {
    throw new Error(`the status line says “${text(el, '[part=status]')}”, not “${words}”`);
  });
}
