/** Minified CSS text of one piece of a css`` literal. */
export function minifyCss(raw: string): string;
/** Minified text of one piece of an html`` literal. */
export function minifyHtml(raw: string): string;
/** A module's source with its css``/html`` literals minified; null when nothing changes. */
export function minifyLiterals(code: string, filename: string): string | null;
/** The Vite/rolldown plugin (our modules only). */
export function minifyLiteralsPlugin(): { name: string; enforce: 'pre'; transform(code: string, id: string): { code: string; map: null } | null };
