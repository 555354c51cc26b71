/**
 * Chromium through playwright-core, with what every e2e page needs watched: uncaught errors, console
 * errors, CSP violations (`securitypolicyviolation`) and the widget's events; plus screenshots into
 * test-results/screenshots/ and axe-core runs on the element (axe traverses open shadow roots).
 */
import { copyFile, mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContextOptions, type Locator, type Page } from 'playwright-core';
import { CHROMIUM_ARGS, findChromium } from '../../../scripts/chromium.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const SCREENSHOTS_DIR = join(ROOT, 'test-results/screenshots');
const DOCS_DIR = join(ROOT, 'docs/screenshots');
const AXE_PATH = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: findChromium() ?? '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
}

export interface CspViolation {
  directive: string;
  blocked: string;
  source: string;
  sample: string;
}

export interface WidgetEvent {
  type: string;
  code?: string;
  text?: string;
  tokens_used?: number;
}

export interface Watched {
  page: Page;
  /** Uncaught exceptions and console errors (messages). */
  errors: string[];
  csp(): Promise<CspViolation[]>;
  /** The `mistral-chat-*` events seen on the document, in order. */
  events(): Promise<WidgetEvent[]>;
  close(): Promise<void>;
}

/** Runs in every page before its own scripts (playwright injects it past the page's CSP). */
function watchInPage() {
  const w = window as unknown as { __csp: unknown[]; __macEvents: unknown[] };
  w.__csp = [];
  w.__macEvents = [];
  document.addEventListener(
    'securitypolicyviolation',
    (e) =>
      w.__csp.push({ directive: e.effectiveDirective, blocked: e.blockedURI, source: `${e.sourceFile}:${e.lineNumber}`, sample: e.sample }),
    true,
  );
  for (const type of ['open', 'close', 'send', 'response', 'error'])
    document.addEventListener(`mistral-chat-${type}`, (e) => {
      const d = e as Event & { code?: string; text?: string; tokens_used?: number };
      w.__macEvents.push({ type, code: d.code, text: d.text, tokens_used: d.tokens_used });
    });
}

/** A fresh context and page (reduced motion: no animation under screenshots and axe's contrast checks). */
export async function openPage(browser: Browser, opts: BrowserContextOptions = {}): Promise<Watched> {
  const context = await browser.newContext({ reducedMotion: 'reduce', viewport: { width: 1280, height: 800 }, ...opts });
  await context.addInitScript(watchInPage);
  // The server reads dist/ per request: while `npm run build` runs elsewhere on this tree, the bundle files
  // answer 503 "not built" for a moment. Ask again for a few seconds rather than fail on someone's rebuild.
  await context.route(/\/(?:widget(?:\.iife)?|mac-[\w-]+)\.js$/, async (route) => {
    for (let attempt = 1; ; attempt++) {
      const res = await route.fetch();
      if (res.status() !== 503 || attempt === 40) return route.fulfill({ response: res });
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`console: ${msg.text()} (${msg.location().url})`);
  });
  return {
    page,
    errors,
    csp: () => page.evaluate(() => (window as unknown as { __csp: CspViolation[] }).__csp),
    events: () => page.evaluate(() => (window as unknown as { __macEvents: WidgetEvent[] }).__macEvents),
    close: () => context.close(),
  };
}

/**
 * Holds back the element's lazy chunk (dist/mac-element-*.js) so that the script-tag loader's stub launcher
 * can be checked alone; returns the function that lets it load.
 */
export async function holdElementChunk(page: Page): Promise<() => void> {
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  await page.route('**/mac-element-*.js', async (route) => {
    await held;
    await route.fallback();
  });
  return release;
}

/**
 * Saves a PNG under test-results/screenshots/ (every run); with UPDATE_DOCS_SCREENSHOTS=1 and a `docs`
 * name, also into docs/screenshots/ for the README.
 */
export async function shot(target: Page | Locator, name: string, opts: { docs?: string; clip?: { x: number; y: number; width: number; height: number } } = {}) {
  await mkdir(SCREENSHOTS_DIR, { recursive: true });
  const path = join(SCREENSHOTS_DIR, `${name}.png`);
  await target.screenshot({ path, animations: 'disabled', caret: 'hide', ...(opts.clip ? { clip: opts.clip } : {}) });
  if (opts.docs && process.env.UPDATE_DOCS_SCREENSHOTS === '1') {
    await mkdir(DOCS_DIR, { recursive: true });
    await copyFile(path, join(DOCS_DIR, `${opts.docs}.png`));
  }
  return path;
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: unknown; html: string; summary: string }[];
}

/** axe-core on the element (and its shadow tree): the violations, each with its nodes. */
export async function axeViolations(page: Page, selector = 'mistral-agent-chat'): Promise<AxeViolation[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ path: AXE_PATH });
  return page.evaluate(async (sel) => {
    const axe = (window as unknown as { axe: { run(ctx: Element, opts: object): Promise<{ violations: AxeResult[] }> } }).axe;
    type AxeResult = { id: string; impact: string | null; help: string; nodes: { target: unknown; html: string; failureSummary: string }[] };
    const el = document.querySelector(sel);
    if (!el) throw new Error(`no ${sel} on the page`);
    const { violations } = await axe.run(el, { resultTypes: ['violations'] });
    return violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => ({ target: n.target, html: n.html, summary: n.failureSummary })),
    }));
  }, selector);
}

/** Violations as readable lines for an assertion message. */
export const describeViolations = (vs: AxeViolation[]): string =>
  vs
    .map((v) => `${v.id} (${v.impact}): ${v.help}\n${v.nodes.map((n) => `    ${JSON.stringify(n.target)} ${n.html}\n      ${n.summary.replace(/\n/g, '\n      ')}`).join('\n')}`)
    .join('\n');
