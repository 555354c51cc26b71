/**
 * Statistics: the `agent_statistics` figures of every agent (`GET /v1/owner/statistics`) and, per agent,
 * charts over the last days (`GET /v1/owner/agents/{id}/daily`) drawn with uPlot (a lazy chunk). Canvas
 * says nothing to a screen reader: each chart has a written summary and the figures are in a table.
 */
import { html, nothing } from 'lit';
import type { Agent, AgentStatistics, DailyFigures } from '../api.ts';
import type { ChartSeries } from '../chart.ts';
import { fmt, type ConsoleStrings } from '../strings.ts';
import type { ConsoleContext } from './context.ts';

type ChartModule = typeof import('../chart.ts');
type Plot = ReturnType<ChartModule['drawChart']>;

export const PERIODS = [7, 30, 90] as const;
const DAY_S = 86400;

const num = (v: number | string | null | undefined) => (v === null || v === undefined || v === '' ? 0 : Number(v));

interface ChartDef {
  id: string;
  title: keyof ConsoleStrings;
  series: { key: keyof DailyFigures; label: keyof ConsoleStrings; color: 1 | 2 }[];
  /** Averages are summarised as an average, counts as a total. */
  average?: boolean;
}

const CHARTS: ChartDef[] = [
  { id: 'conversations', title: 'c_conversations', series: [{ key: 'conversations', label: 's_conversations', color: 1 }] },
  {
    id: 'messages',
    title: 'c_messages',
    series: [
      { key: 'user_messages', label: 's_user_messages', color: 1 },
      { key: 'assistant_messages', label: 's_assistant_messages', color: 2 },
    ],
  },
  { id: 'tokens', title: 'c_tokens', series: [{ key: 'tokens_used', label: 's_tokens', color: 1 }] },
  { id: 'response', title: 'c_response', series: [{ key: 'avg_response_time_ms', label: 's_avg_response', color: 1 }], average: true },
  {
    id: 'feedback',
    title: 'c_feedback',
    series: [
      { key: 'positive_feedback', label: 's_positive', color: 1 },
      { key: 'negative_feedback', label: 's_negative', color: 2 },
    ],
  },
];

/** `YYYY-MM-DD` → UTC midnight in epoch seconds. */
const dayTs = (day: string) => Date.parse(`${day.slice(0, 10)}T00:00:00Z`) / 1000;

/** One entry per day of the window ending today (UTC), days without activity filled with zeros. */
export function fillDays(rows: DailyFigures[], days: number, now = Date.now()): { ts: number[]; rows: (DailyFigures | null)[] } {
  const byDay = new Map(rows.map((r) => [dayTs(r.day), r]));
  const today = Math.floor(now / 1000 / DAY_S) * DAY_S;
  const last = Math.max(today, ...byDay.keys());
  const ts: number[] = [];
  for (let t = last - (days - 1) * DAY_S; t <= last; t += DAY_S) ts.push(t);
  return { ts, rows: ts.map((t) => byDay.get(t) ?? null) };
}

export class Stats {
  #rows: AgentStatistics[] | null = null;
  #rowsLoad: Promise<AgentStatistics[] | null> | null = null;
  #rowsError = '';
  #days: number = 30;
  #daily = new Map<string, DailyFigures[]>();
  #dailyFor = '';
  #dailyState: 'idle' | 'loading' | 'loaded' | 'error' = 'idle';
  #dailyError = '';
  #chart: ChartModule | null = null;
  #plots = new Map<string, Plot>();
  /** What the drawn charts show: redraw when it changes. */
  #drawnKey = '';
  #resize?: ResizeObserver;
  #gen = 0;

  constructor(private readonly ctx: ConsoleContext) {}

  reset() {
    this.#gen++;
    this.#rows = null;
    this.#rowsLoad = null;
    this.#rowsError = '';
    this.#daily.clear();
    this.#dailyFor = '';
    this.#dailyState = 'idle';
    this.#dailyError = '';
    this.#destroyCharts();
  }

  /** Data changed: read the figures again next time they are shown. */
  stale() {
    this.#rows = null;
    this.#rowsLoad = null;
    this.#daily.clear();
    this.#dailyFor = '';
    this.#dailyState = 'idle';
  }

  /** The statistics rows, loaded once (null when the call failed). */
  ensureRows(): Promise<AgentStatistics[] | null> {
    if (this.#rows) return Promise.resolve(this.#rows);
    const gen = this.#gen;
    return (this.#rowsLoad ??= this.ctx.api.statistics().then(
      (rows) => {
        if (gen === this.#gen) {
          this.#rows = rows;
          this.#rowsError = '';
          this.ctx.requestUpdate();
        }
        return rows;
      },
      (err: unknown) => {
        if (gen === this.#gen) {
          this.#rowsLoad = null;
          this.#rowsError = this.ctx.problem(err) ?? '';
          this.ctx.requestUpdate();
        }
        return null;
      },
    ));
  }

  async figures(agentId: string) {
    const row = (await this.ensureRows())?.find((r) => r.agent_id === agentId);
    return row ? { conversations: num(row.total_conversations), messages: num(row.total_messages) } : null;
  }

  /** Loads what the agent's statistics tab shows. */
  showAgent(agentId: string) {
    void this.ensureRows();
    const key = `${agentId}:${this.#days}`;
    if (this.#dailyFor === key && this.#dailyState !== 'idle') return;
    this.#dailyFor = key;
    void this.#loadDaily(agentId, key);
    void this.#loadCharts();
  }

  async #loadDaily(agentId: string, key: string) {
    const gen = this.#gen;
    if (this.#daily.has(key)) {
      this.#dailyState = 'loaded';
      return;
    }
    this.#dailyState = 'loading';
    this.#dailyError = '';
    this.ctx.requestUpdate();
    try {
      const days = await this.ctx.api.daily(agentId, this.#days);
      if (gen !== this.#gen || this.#dailyFor !== key) return;
      this.#daily.set(key, days);
      this.#dailyState = 'loaded';
    } catch (err) {
      if (gen !== this.#gen || this.#dailyFor !== key) return;
      this.#dailyState = 'error';
      this.#dailyError = this.ctx.problem(err) ?? '';
    }
    this.ctx.requestUpdate();
  }

  async #loadCharts() {
    if (this.#chart) return;
    try {
      const m = await import('../chart.ts');
      const root = this.ctx.renderRoot;
      if (root instanceof ShadowRoot && !root.adoptedStyleSheets.includes(m.chartStyles))
        root.adoptedStyleSheets = [...root.adoptedStyleSheets, m.chartStyles];
      this.#chart = m;
      this.ctx.requestUpdate();
    } catch {
      // no charts: the summaries and the table still say everything
    }
  }

  #destroyCharts() {
    for (const p of this.#plots.values()) p.destroy();
    this.#plots.clear();
    this.#resize?.disconnect();
    this.#resize = undefined;
    this.#drawnKey = '';
  }

  /** After each render of the host: draws the charts when their data, theme or language changed. */
  afterRender(dark: boolean) {
    const root = this.ctx.renderRoot;
    const boxes = [...root.querySelectorAll<HTMLElement>('.chart[data-chart]')];
    const data = this.#daily.get(this.#dailyFor);
    if (!boxes.length || !data || !this.#chart) {
      if (this.#plots.size && !boxes.length) this.#destroyCharts();
      return;
    }
    const key = `${this.#dailyFor}|${dark}|${this.ctx.uiLang}`;
    // Lit keeps the boxes while the tab stays; a box without a child is new (the tab was shown again).
    if (key === this.#drawnKey && boxes.every((b) => b.firstElementChild)) return;
    this.#destroyCharts();
    const filled = fillDays(data, this.#days);
    const host = (root as ShadowRoot).host ?? root;
    for (const box of boxes) {
      const def = CHARTS.find((c) => c.id === box.dataset.chart);
      if (!def) continue;
      const series: ChartSeries[] = def.series.map((d) => ({
        label: this.ctx.s[d.label],
        color: d.color,
        values: filled.rows.map((r) => (r ? (r[d.key] as number | null) : def.average ? null : 0)),
      }));
      this.#plots.set(def.id, this.#chart.drawChart(box, host, { days: filled.ts, series, format: this.#formatter(def), lang: this.ctx.uiLang, dayLabel: this.ctx.s.day }));
    }
    this.#resize = new ResizeObserver(() => {
      for (const [id, p] of this.#plots) {
        const box = boxes.find((b) => b.dataset.chart === id);
        if (box && box.clientWidth && Math.abs(box.clientWidth - p.width) > 1) p.setSize({ width: Math.max(240, box.clientWidth), height: p.height });
      }
    });
    for (const b of boxes) this.#resize.observe(b);
    this.#drawnKey = key;
  }

  #formatter(def: ChartDef) {
    const lang = this.ctx.uiLang;
    if (def.average) {
      const f = new Intl.NumberFormat(lang, { maximumFractionDigits: 1 });
      return (ms: number) => fmt(this.ctx.s.seconds, { n: f.format(ms / 1000) });
    }
    const f = new Intl.NumberFormat(lang, { notation: 'compact', maximumFractionDigits: 1 });
    return (v: number) => f.format(v);
  }

  #setDays(agentId: string, days: number) {
    this.#days = days;
    this.showAgent(agentId);
    this.ctx.requestUpdate();
  }

  /** The written alternative of one chart. */
  #summary(def: ChartDef, ts: number[], rows: (DailyFigures | null)[]) {
    const s = this.ctx.s;
    const lang = this.ctx.uiLang;
    const format = this.#formatter(def);
    const full = new Intl.NumberFormat(lang);
    const dayFmt = new Intl.DateTimeFormat(lang, { day: 'numeric', month: 'long', timeZone: 'UTC' });
    return def.series
      .map((d) => {
        const label = s[d.label];
        const values = rows.map((r) => (r ? (r[d.key] as number | null) : null));
        const present = values.filter((v): v is number => v !== null && v !== undefined);
        const max = Math.max(0, ...present);
        if (!max) return fmt(s.chartEmpty, { label, n: ts.length });
        const at = dayFmt.format(new Date(ts[values.indexOf(max)]! * 1000));
        if (def.average) {
          // the mean of the daily averages, weighted by each day's replies
          let w = 0;
          let sum = 0;
          rows.forEach((r) => {
            if (r && r.avg_response_time_ms != null) {
              const n = Math.max(1, num(r.assistant_messages));
              w += n;
              sum += num(r.avg_response_time_ms) * n;
            }
          });
          return fmt(s.chartSummaryAvg, { label, avg: format(w ? sum / w : 0), n: ts.length, max: format(max), day: at });
        }
        const total = present.reduce((a, b) => a + b, 0);
        return fmt(s.chartSummary, { label, total: full.format(total), n: ts.length, max: full.format(max), day: at });
      })
      .join(' ');
  }

  #figureList(row: AgentStatistics | undefined) {
    const s = this.ctx.s;
    const lang = this.ctx.uiLang;
    const nf = new Intl.NumberFormat(lang);
    const sec = new Intl.NumberFormat(lang, { maximumFractionDigits: 1 });
    const avg = row?.avg_response_time_ms;
    const last = row?.last_conversation_date;
    const items: [string, string][] = [
      [s.s_conversations, nf.format(num(row?.total_conversations))],
      [s.s_messages, nf.format(num(row?.total_messages))],
      [s.s_user_messages, nf.format(num(row?.user_messages))],
      [s.s_assistant_messages, nf.format(num(row?.assistant_messages))],
      [s.s_tokens, nf.format(num(row?.total_tokens_used))],
      [s.s_avg_response, avg == null ? '—' : fmt(s.seconds, { n: sec.format(num(avg) / 1000) })],
      [s.s_positive, nf.format(num(row?.positive_feedback))],
      [s.s_negative, nf.format(num(row?.negative_feedback))],
      [s.s_last, last ? new Intl.DateTimeFormat(lang, { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(last)) : s.never],
    ];
    return html`<dl class="figures" part="figures">
      ${items.map(([k, v]) => html`<div class="figure"><dt>${k}</dt><dd>${v}</dd></div>`)}
    </dl>`;
  }

  #table(ts: number[], rows: (DailyFigures | null)[]) {
    const s = this.ctx.s;
    const lang = this.ctx.uiLang;
    const nf = new Intl.NumberFormat(lang);
    const sec = new Intl.NumberFormat(lang, { maximumFractionDigits: 1 });
    const dayFmt = new Intl.DateTimeFormat(lang, { dateStyle: 'medium', timeZone: 'UTC' });
    const cols: [string, (r: DailyFigures | null) => string][] = [
      [s.s_conversations, (r) => nf.format(num(r?.conversations))],
      [s.s_user_messages, (r) => nf.format(num(r?.user_messages))],
      [s.s_assistant_messages, (r) => nf.format(num(r?.assistant_messages))],
      [s.s_tokens, (r) => nf.format(num(r?.tokens_used))],
      [s.s_avg_response, (r) => (r?.avg_response_time_ms == null ? '—' : fmt(s.seconds, { n: sec.format(num(r.avg_response_time_ms) / 1000) }))],
      [s.s_positive, (r) => nf.format(num(r?.positive_feedback))],
      [s.s_negative, (r) => nf.format(num(r?.negative_feedback))],
    ];
    return html`<details class="data" part="data-table">
      <summary>${s.dataTable}</summary>
      <div class="table-scroll" role="region" aria-labelledby="daily-caption" tabindex="0">
        <table>
          <caption id="daily-caption">${fmt(s.lastDays, { n: ts.length })}</caption>
          <thead>
            <tr><th scope="col">${s.day}</th>${cols.map(([h]) => html`<th scope="col">${h}</th>`)}</tr>
          </thead>
          <tbody>
            ${ts.map(
              (t, i) => html`<tr><th scope="row">${dayFmt.format(new Date(t * 1000))}</th>${cols.map(([, f]) => html`<td>${f(rows[i] ?? null)}</td>`)}</tr>`,
            )}
          </tbody>
        </table>
      </div>
    </details>`;
  }

  /** The agent's statistics tab. */
  renderAgent(agent: Agent) {
    const s = this.ctx.s;
    const row = this.#rows?.find((r) => r.agent_id === agent.id);
    const data = this.#daily.get(this.#dailyFor);
    const filled = data ? fillDays(data, this.#days) : null;
    const anything = !!data?.some((r) => num(r.conversations) || num(r.user_messages) || num(r.assistant_messages));
    return html`
      ${this.#rowsError ? html`<p class="alert" role="alert" part="error">${this.#rowsError}</p>` : nothing}
      ${this.#rows ? this.#figureList(row) : this.#rowsError ? nothing : html`<p class="loading" role="status">${s.loading}</p>`}
      <div class="field period">
        <label for="stats-days">${s.period}</label>
        <select id="stats-days" @change=${(e: Event) => this.#setDays(agent.id, Number((e.target as HTMLSelectElement).value))}>
          ${PERIODS.map((n) => html`<option value=${n} ?selected=${n === this.#days}>${fmt(s.lastDays, { n })}</option>`)}
        </select>
      </div>
      ${this.#dailyError ? html`<p class="alert" role="alert" part="error">${this.#dailyError}</p>` : nothing}
      ${this.#dailyState === 'loading' ? html`<p class="loading" role="status">${s.loading}</p>` : nothing}
      ${filled
        ? html`${anything ? nothing : html`<p class="empty">${s.noActivity}</p>`}
            <div class="charts">
              ${CHARTS.map(
                (def) => html`<figure class="chart-figure" part="chart" aria-labelledby="chart-${def.id}-h">
                  <figcaption id="chart-${def.id}-h">${s[def.title]}</figcaption>
                  <div class="chart" data-chart=${def.id} aria-hidden="true"></div>
                  <p class="chart-summary" part="chart-summary">${this.#summary(def, filled.ts, filled.rows)}</p>
                </figure>`,
              )}
            </div>
            ${this.#table(filled.ts, filled.rows)}`
        : nothing}
    `;
  }

  /** Every agent's totals (the overview). */
  renderOverview(agents: readonly Agent[]) {
    const s = this.ctx.s;
    const lang = this.ctx.uiLang;
    const nf = new Intl.NumberFormat(lang);
    const sec = new Intl.NumberFormat(lang, { maximumFractionDigits: 1 });
    if (this.#rowsError) return html`<p class="alert" role="alert" part="error">${this.#rowsError}</p>`;
    if (!this.#rows) return html`<p class="loading" role="status">${s.loading}</p>`;
    const rows = this.#rows.filter((r) => agents.some((a) => a.id === r.agent_id));
    return html`<p>${s.overviewIntro}</p>
      <div class="table-scroll" role="region" aria-labelledby="overview-caption" tabindex="0">
        <table class="overview" part="overview-table">
          <caption id="overview-caption">${s.statsTitle}</caption>
          <thead>
            <tr>
              <th scope="col">${s.agentColumn}</th>
              <th scope="col">${s.s_conversations}</th>
              <th scope="col">${s.s_messages}</th>
              <th scope="col">${s.s_tokens}</th>
              <th scope="col">${s.s_avg_response}</th>
              <th scope="col">${s.s_positive}</th>
              <th scope="col">${s.s_negative}</th>
              <th scope="col">${s.s_last}</th>
            </tr>
          </thead>
          <tbody>
            ${rows.map(
              (r) => html`<tr>
                <th scope="row"><button type="button" class="link" @click=${() => this.ctx.openAgent(r.agent_id, 'statistics')}>${r.name}</button></th>
                <td>${nf.format(num(r.total_conversations))}</td>
                <td>${nf.format(num(r.total_messages))}</td>
                <td>${nf.format(num(r.total_tokens_used))}</td>
                <td>${r.avg_response_time_ms == null ? '—' : fmt(s.seconds, { n: sec.format(num(r.avg_response_time_ms) / 1000) })}</td>
                <td>${nf.format(num(r.positive_feedback))}</td>
                <td>${nf.format(num(r.negative_feedback))}</td>
                <td>
                  ${r.last_conversation_date
                    ? new Intl.DateTimeFormat(lang, { dateStyle: 'medium' }).format(new Date(r.last_conversation_date))
                    : s.never}
                </td>
              </tr>`,
            )}
          </tbody>
        </table>
      </div>`;
  }
}
