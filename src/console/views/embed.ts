/**
 * The embed tab: the script-tag and npm snippets for an agent, a small theme editor that writes the CSS a
 * designer pastes, and a live preview: the real widget, loaded from the server's `/widget.js` into the page
 * (never bundled into the console), talking to that agent, themed live.
 */
import { html, nothing } from 'lit';
import { styleMap } from 'lit/directives/style-map.js';
import type { Agent } from '../api.ts';
import { NPM_INSTALL, npmSnippet, scriptSnippet } from '../snippets.ts';
import { fmt, type ConsoleStringKey } from '../strings.ts';
import { DEFAULT_THEME, FONTS, themeCss, themeProperties, type FontKey, type ThemeChoice } from '../theme.ts';
import type { ConsoleContext } from './context.ts';

/** Loads of the widget script, per URL, for the page's lifetime (one `<script>` per URL). */
const loads = new Map<string, Promise<void>>();

function loadWidget(src: string): Promise<void> {
  if (customElements.get('mistral-agent-chat')) return Promise.resolve();
  let p = loads.get(src);
  if (!p) {
    p = new Promise<void>((resolve, reject) => {
      const script = document.createElement('script');
      script.type = 'module';
      script.src = src;
      script.onload = () => resolve();
      script.onerror = () => {
        loads.delete(src);
        script.remove();
        reject(new Error(`could not load ${src}`));
      };
      document.head.append(script);
    });
    loads.set(src, p);
  }
  return p;
}

/** Whether a page at `origin` may use an agent with this allowlist (the proxy decides; this is a hint). */
export function originAllowed(origin: string, allowed: readonly string[] | null): boolean {
  if (!allowed?.length) return true;
  let page: URL;
  try {
    page = new URL(origin);
  } catch {
    return false;
  }
  return allowed.some((entry) => {
    const e = entry.trim();
    if (e === '*') return true;
    const wild = /^([a-z][a-z0-9+.-]*:)\/\/\*\.(.+?)\/?$/i.exec(e);
    if (wild) {
      try {
        const base = new URL(`${wild[1]}//${wild[2]}`);
        return page.protocol === base.protocol && page.port === base.port && page.hostname.endsWith(`.${base.hostname}`);
      } catch {
        return false;
      }
    }
    try {
      return new URL(e).origin === page.origin;
    } catch {
      return false;
    }
  });
}

export class EmbedView {
  theme: ThemeChoice = { ...DEFAULT_THEME };
  #widget: 'idle' | 'loading' | 'ready' | 'failed' = 'idle';
  #widgetSrc = '';

  constructor(private readonly ctx: ConsoleContext) {}

  /** Loads the widget for the preview (once per script URL); called when the tab is shown. */
  prepare() {
    const src = this.ctx.previewScript;
    if (this.#widgetSrc === src && this.#widget !== 'idle') return;
    this.#widgetSrc = src;
    this.#widget = 'loading';
    loadWidget(src).then(
      () => {
        this.#widget = 'ready';
        this.ctx.requestUpdate();
      },
      () => {
        this.#widget = 'failed';
        this.ctx.requestUpdate();
      },
    );
  }

  #setTheme(patch: Partial<ThemeChoice>) {
    this.theme = { ...this.theme, ...patch };
    this.ctx.requestUpdate();
  }

  #snippet(id: string, title: string, intro: string, blocks: [code: string, copyLabel: string][]) {
    return html`<section class="card" part="card" aria-labelledby="${id}-h">
      <h3 id="${id}-h">${title}</h3>
      <p>${intro}</p>
      ${blocks.map(
        ([code, label], i) => html`<div class="snippet" part="snippet">
          <pre id="${id}-${i}"><code>${code}</code></pre>
          <button type="button" part="button copy-button" class="copy" @click=${() => this.ctx.copy(code)}>${label}</button>
        </div>`,
      )}
    </section>`;
  }

  render(agent: Agent) {
    const s = this.ctx.s;
    const t = this.theme;
    const base = this.ctx.baseUrl;
    const css = themeCss(t);
    const refused = !originAllowed(location.origin, agent.allowed_origins);
    return html`
      ${this.#snippet('script', s.scriptTitle, s.scriptIntro, [[scriptSnippet(base, agent.api_key, t.scheme), s.copyScript]])}
      ${this.#snippet('npm', s.npmTitle, s.npmIntro, [
        [NPM_INSTALL, s.copyInstall],
        [npmSnippet(base, agent.api_key, t.scheme), s.copyImport],
      ])}
      <div class="theme-preview">
        <section class="card theme" part="card theme-editor" aria-labelledby="theme-h">
          <h3 id="theme-h">${s.themeTitle}</h3>
          <div class="field">
            <label for="t-accent">${s.accent}</label>
            <span class="color">
              <input id="t-accent" type="color" .value=${t.accent} @input=${(e: Event) => this.#setTheme({ accent: (e.target as HTMLInputElement).value })} />
              <code aria-hidden="true">${t.accent}</code>
            </span>
          </div>
          <div class="field">
            <label for="t-radius">${s.radius}</label>
            <span class="range">
              <input id="t-radius" type="range" min="0" max="32" step="1" .value=${String(t.radius)} aria-valuetext="${t.radius} px"
                @input=${(e: Event) => this.#setTheme({ radius: Number((e.target as HTMLInputElement).value) })} />
              <output for="t-radius" aria-hidden="true">${t.radius} px</output>
            </span>
          </div>
          <div class="field">
            <label for="t-font">${s.font}</label>
            <select id="t-font" @change=${(e: Event) => this.#setTheme({ font: (e.target as HTMLSelectElement).value as FontKey })}>
              ${(Object.keys(FONTS) as FontKey[]).map(
                (k) => html`<option value=${k} ?selected=${t.font === k}>${s[`font_${k}` as ConsoleStringKey]}</option>`,
              )}
            </select>
          </div>
          <fieldset class="field scheme">
            <legend>${s.scheme}</legend>
            ${(['auto', 'light', 'dark'] as const).map(
              (v) => html`<label class="radio"><input type="radio" name="t-scheme" value=${v} .checked=${t.scheme === v}
                  @change=${() => this.#setTheme({ scheme: v })} />${s[`scheme_${v}`]}</label>`,
            )}
          </fieldset>
          <h4 id="css-h">${s.cssTitle}</h4>
          <div class="snippet" part="snippet">
            <pre><code>${css}</code></pre>
            <button type="button" part="button copy-button" class="copy" @click=${() => this.ctx.copy(css)}>${s.copyCss}</button>
          </div>
        </section>
        <section class="card preview" part="card preview" aria-labelledby="preview-h">
          <h3 id="preview-h">${s.previewTitle}</h3>
          <p class="hint">${s.previewNote}</p>
          ${refused ? html`<p class="warning" part="warning">${fmt(s.previewOrigin, { origin: location.origin })}</p>` : nothing}
          ${agent.is_active ? nothing : html`<p class="warning" part="warning">${s.previewInactive}</p>`}
          ${this.#widget === 'failed'
            ? html`<p class="alert" role="alert" part="error">${fmt(s.previewFailed, { src: this.#widgetSrc })}</p>`
            : nothing}
          <div class="preview-box" part="preview" role="group" aria-label=${s.previewLabel}>
            <mistral-agent-chat mode="inline" endpoint=${base} api-key=${agent.api_key} theme=${t.scheme}
              style=${styleMap(themeProperties(t))}></mistral-agent-chat>
          </div>
        </section>
      </div>
    `;
  }
}
