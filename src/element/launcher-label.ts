/**
 * The UI language and the launcher's label, apart from the other strings: the script-tag loader draws a
 * stub launcher (src/element/stub.ts) before the element and its strings are loaded. strings.ts uses these.
 */

/** The launcher's label in each built-in language. */
export const OPEN_CHAT = { en: 'Open chat', fr: 'Ouvrir la discussion' };

/** The primary language subtag, lower case (`fr-CA` → `fr`). */
export const primary = (tag: string) => tag.toLowerCase().split(/[-_]/)[0] ?? '';

/** The language to use: the element's `lang`, else the page's, else the browser's. */
export const resolveLang = (own: string | null | undefined): string =>
  own || document.documentElement.lang || navigator.language || 'en';

/** The launcher's label for a language (English when the language has no built-in strings). */
export const openChatLabel = (lang: string): string => (OPEN_CHAT as Record<string, string | undefined>)[primary(lang)] ?? OPEN_CHAT.en;
