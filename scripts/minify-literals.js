// Build plugin: minifies the text of Lit's css`` and html`` tagged templates, which a JS minifier leaves as
// written (indentation, newlines, CSS comments). Only whitespace and CSS comments go, with rules that cannot
// change meaning:
//   css``  comments removed; whitespace runs become one space, or nothing next to { } ; , and after a colon
//          (never before one: `a :hover` and `a:hover` differ); quoted strings and url() kept as written; the
//          last `;` of a block dropped. Interpolations (`${dark}`) stay where they were.
//   html`` a whitespace run that holds a line break becomes one space (HTML collapses it so anyway); runs
//          without a line break are kept (`</a> <span>` is a visible space). A template holding <pre> or
//          <textarea> content, where whitespace is content, is left alone.
// The source is parsed (rolldown's parser, TypeScript included), so strings, comments and regexes that look
// like templates are never touched.
import { parseAst } from 'vite';

const TAGS = new Set(['css', 'html', 'svg']);

/** Minified CSS text of one quasi (a piece of a css`` literal between interpolations). */
export function minifyCss(raw) {
  let out = '';
  let i = 0;
  const n = raw.length;
  const space = () => {
    if (out && !/[{};,:\s]$/.test(out)) out += ' ';
  };
  while (i < n) {
    const c = raw[i];
    if (c === '/' && raw[i + 1] === '*') {
      const end = raw.indexOf('*/', i + 2);
      i = end === -1 ? n : end + 2;
      // a comment between two words still separates them
      if (/\s/.test(raw[i] ?? '')) continue;
      space();
    } else if (/\s/.test(c)) {
      while (i < n && /\s/.test(raw[i])) i++;
      // the next character decides: nothing before { } ; , and before the end of the text
      if (i < n && !/[{};,]/.test(raw[i]) && !(raw[i] === '/' && raw[i + 1] === '*')) space();
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < n && raw[j] !== c) j += raw[j] === '\\' ? 2 : 1;
      out += raw.slice(i, j + 1);
      i = j + 1;
    } else if (c === '}' && out.endsWith(';')) {
      out = out.slice(0, -1) + c;
      i++;
    } else {
      if (/[{};,]/.test(c)) out = out.trimEnd();
      out += c;
      i++;
    }
  }
  return out;
}

/** Minified text of one quasi of an html`` (or svg``) literal. */
export const minifyHtml = (raw) => raw.replace(/\s*\n\s*/g, ' ');

function* taggedTemplates(node) {
  if (!node || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (const n of node) yield* taggedTemplates(n);
    return;
  }
  if (node.type === 'TaggedTemplateExpression' && node.tag.type === 'Identifier' && TAGS.has(node.tag.name)) yield node;
  for (const [k, v] of Object.entries(node)) if (k !== 'parent' && v && typeof v === 'object') yield* taggedTemplates(v);
}

/** Rewrites the css``/html`` literals of one module's source; returns null when nothing changes. */
export function minifyLiterals(code, filename) {
  if (!/\b(css|html|svg)`/.test(code)) return null;
  const ast = parseAst(code, { lang: /\.tsx?$/.test(filename) ? 'ts' : 'js', sourceType: 'module' }, filename);
  const edits = [];
  for (const t of taggedTemplates(ast)) {
    const quasis = t.quasi.quasis;
    const isCss = t.tag.name === 'css';
    if (!isCss && quasis.some((q) => /<(pre|textarea)\b/i.test(q.value.raw))) continue;
    quasis.forEach((q, k) => {
      const raw = q.value.raw;
      let min = isCss ? minifyCss(raw) : minifyHtml(raw);
      // Next to an interpolation, a space may separate two values (`${a} solid`): keep one.
      if (isCss && k > 0 && /^\s/.test(raw) && !/^\s/.test(min)) min = ` ${min}`;
      if (isCss && k < quasis.length - 1 && /\s$/.test(raw) && !/\s$/.test(min)) min = `${min} `;
      // The quasi's text sits between its delimiters: ` or } before, ` or ${ after.
      const start = q.start + (code[q.start] === '`' || code[q.start] === '}' ? 1 : 0);
      const end = start + raw.length;
      if (code.slice(start, end) !== raw) throw new Error(`minify-literals: ${filename}: unexpected template positions`);
      if (min !== raw) edits.push([start, end, min]);
    });
  }
  if (!edits.length) return null;
  edits.sort((a, b) => b[0] - a[0]);
  let out = code;
  for (const [s, e, text] of edits) out = out.slice(0, s) + text + out.slice(e);
  return out;
}

/** The plugin: our own modules only (dependencies ship their templates as they are). */
export function minifyLiteralsPlugin() {
  return {
    name: 'mac-minify-literals',
    enforce: 'pre',
    transform(code, id) {
      if (id.includes('/node_modules/') || !/\.[cm]?[jt]sx?$/.test(id.split('?')[0])) return null;
      const out = minifyLiterals(code, id.split('?')[0]);
      return out === null ? null : { code: out, map: null };
    },
  };
}
