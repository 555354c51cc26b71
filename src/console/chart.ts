/**
 * Daily charts with uPlot, loaded lazily (its own chunk) by the statistics view. uPlot draws on canvas:
 * the view gives each chart a text alternative (a summary as the image's name, and a data table).
 */
import uPlot from 'uplot';
import uplotCss from 'uplot/dist/uPlot.min.css?inline';

export interface ChartSeries {
  label: string;
  values: (number | null)[];
  /** 1 or 2: the colour (`--mistral-console-chart-1` / `-2`). */
  color: 1 | 2;
}

export interface ChartSpec {
  /** UTC midnights, epoch seconds. */
  days: number[];
  series: ChartSeries[];
  /** Formats a value for the y axis and the legend. */
  format: (v: number) => string;
  /** The legend's name for the x values. */
  dayLabel: string;
  lang: string;
}

/** uPlot's stylesheet, for the shadow root that holds the charts. */
export const chartStyles = (() => {
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(uplotCss);
  return sheet;
})();

/** Colours and font from the host's custom properties, so the charts follow the light or dark theme. */
function palette(host: Element) {
  const cs = getComputedStyle(host);
  const v = (name: string, fallback: string) => cs.getPropertyValue(name).trim() || fallback;
  return {
    c1: v('--mistral-console-chart-1', '#c2410c'),
    c2: v('--mistral-console-chart-2', '#1d4ed8'),
    grid: v('--mistral-console-chart-grid', '#d0d7de'),
    text: v('--mistral-console-muted', '#57606a'),
    font: `12px ${v('--mistral-console-font', 'system-ui, sans-serif')}`,
  };
}

/** A translucent fill under a line, for `#rgb` / `#rrggbb` colours (others get no fill). */
function translucent(color: string): string | undefined {
  const m = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(color);
  if (!m) return undefined;
  const hex = m[1]!.length === 3 ? [...m[1]!].map((c) => c + c).join('') : m[1]!;
  const n = parseInt(hex, 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, 0.12)`;
}

/** Draws (or redraws) one chart in `container`, replacing what was there. */
export function drawChart(container: HTMLElement, host: Element, spec: ChartSpec): uPlot {
  const p = palette(host);
  const dayFmt = new Intl.DateTimeFormat(spec.lang, { day: 'numeric', month: 'short', timeZone: 'UTC' });
  const axis = {
    stroke: p.text,
    font: p.font,
    grid: { stroke: p.grid, width: 1 },
    ticks: { stroke: p.grid, width: 1 },
  };
  const opts: uPlot.Options = {
    width: Math.max(240, container.clientWidth),
    height: 180,
    // The days are UTC dates: ticks and labels in UTC, whatever the owner's time zone.
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
    scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
    axes: [
      { ...axis, values: (_u, splits) => splits.map((s) => dayFmt.format(new Date(s * 1000))) },
      { ...axis, size: 56, values: (_u, splits) => splits.map((s) => spec.format(s)) },
    ],
    series: [
      { label: spec.dayLabel, value: (_u, ts) => (ts == null ? '—' : dayFmt.format(new Date(ts * 1000))) },
      ...spec.series.map((s) => {
        const color = s.color === 1 ? p.c1 : p.c2;
        return {
          label: s.label,
          stroke: color,
          width: 2,
          fill: translucent(color),
          points: { show: true, size: 5, fill: color },
          value: (_u: uPlot, v: number | null) => (v == null ? '—' : spec.format(v)),
        };
      }),
    ],
    cursor: { drag: { x: false, y: false } },
  };
  container.replaceChildren();
  return new uPlot(opts, [spec.days, ...spec.series.map((s) => s.values)], container);
}
