/**
 * The embed tab's theme editor, without a DOM: a few choices become the CSS custom properties of
 * `<mistral-agent-chat>` (the names its JSDoc documents) that a designer pastes into the site's CSS.
 */

export interface ThemeChoice {
  /** `#rrggbb` */
  accent: string;
  /** Corner radius in px: the widget derives every other radius from it (bubbles, controls, code, suggestions). */
  radius: number;
  font: FontKey;
  scheme: 'auto' | 'light' | 'dark';
}

export const FONTS = {
  system: "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
  humanist: "'Gill Sans', 'Trebuchet MS', Calibri, sans-serif",
  serif: "Georgia, Cambria, 'Times New Roman', serif",
  rounded: "ui-rounded, 'SF Pro Rounded', 'Nunito', system-ui, sans-serif",
  mono: 'ui-monospace, SFMono-Regular, Menlo, Consolas, monospace',
} as const;
export type FontKey = keyof typeof FONTS;

/** The widget's own defaults (src/element/mistral-agent-chat.styles.ts). */
export const DEFAULT_THEME: ThemeChoice = { accent: '#c2410c', radius: 16, font: 'system', scheme: 'auto' };

const channel = (c: number) => {
  const v = c / 255;
  return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
};

/** WCAG relative luminance of `#rrggbb`. */
export function luminance(hex: string): number {
  const n = parseInt(hex.slice(1), 16);
  return 0.2126 * channel((n >> 16) & 255) + 0.7152 * channel((n >> 8) & 255) + 0.0722 * channel(n & 255);
}

/** WCAG contrast ratio of two `#rrggbb` colours (1 to 21). */
export function contrast(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

/** Text on the accent (launcher icon, send button, visitor bubbles): white or black, whichever reads better (at least 4.58:1, WCAG AA, whatever the accent). */
export const onAccent = (accent: string): string => (contrast(accent, '#ffffff') >= contrast(accent, '#000000') ? '#ffffff' : '#000000');

export const isHexColor = (v: string) => /^#[0-9a-f]{6}$/i.test(v);

/** The custom properties for a choice (also applied to the live preview as inline style). */
export function themeProperties(t: ThemeChoice): Record<string, string> {
  const accent = isHexColor(t.accent) ? t.accent.toLowerCase() : DEFAULT_THEME.accent;
  const r = Math.max(0, Math.min(32, Math.round(t.radius)));
  return {
    '--mistral-chat-accent': accent,
    '--mistral-chat-on-accent': onAccent(accent),
    '--mistral-chat-radius': `${r}px`,
    '--mistral-chat-font': FONTS[t.font] ?? FONTS.system,
  };
}

/** The CSS a designer pastes. */
export function themeCss(t: ThemeChoice): string {
  const body = Object.entries(themeProperties(t))
    .map(([k, v]) => `  ${k}: ${v};`)
    .join('\n');
  return `mistral-agent-chat {\n${body}\n}\n`;
}
