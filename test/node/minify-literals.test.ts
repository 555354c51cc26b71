/**
 * The build's css``/html`` minifier (scripts/minify-literals.js): it may only drop whitespace and comments
 * where they mean nothing; what a visitor sees (the element's styles and markup) must not change.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { minifyCss, minifyLiterals } from '../../scripts/minify-literals.js';

const src = (f: string) => readFileSync(new URL(`../../${f}`, import.meta.url), 'utf8');
const noSpace = (s: string) => s.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\s+/g, '').replace(/;}/g, '}');

describe('minify-literals', () => {
  it('keeps the whitespace CSS needs: descendant pseudo-classes, calc(), values, strings', () => {
    assert.equal(minifyCss('\n  .a :hover { color: red ; }\n'), '.a :hover{color:red}');
    assert.equal(minifyCss('.a:hover , .b > .c {\n  width: calc(100% - 2 * var(--x));\n}'), '.a:hover,.b > .c{width:calc(100% - 2 * var(--x))}');
    assert.equal(minifyCss(".q { content: ' a ;  b '; font: 15px / 1.5 'Segoe UI' , x; }"), ".q{content:' a ;  b ';font:15px / 1.5 'Segoe UI',x}");
    assert.equal(minifyCss('a /* one */ b /*two*/c{x:1}'), 'a b c{x:1}');
    assert.equal(minifyCss('@media (max-width: 479.98px), (pointer: coarse) {\n .i { font-size: max(16px, 1em) }\n}'), '@media (max-width:479.98px),(pointer:coarse){.i{font-size:max(16px,1em)}}');
  });

  it('keeps a space beside an interpolation, where it may separate two values', () => {
    const out = minifyLiterals('const s = css`\n  a { border: ${w} solid; }\n  b { ${dark} }\n`;', 'x.ts');
    assert.equal(out, 'const s = css`a{border: ${w} solid}b{ ${dark} }`;');
  });

  it('html: a line break and its indentation become one space; other spaces, strings and code stay', () => {
    const code = "const v = html`<p>\n    ${a} <b>x</b>\n  </p>`;\nconst r = /html`  x`/;\nconst s = 'css`  {  }`';";
    assert.equal(minifyLiterals(code, 'x.ts'), "const v = html`<p> ${a} <b>x</b> </p>`;\nconst r = /html`  x`/;\nconst s = 'css`  {  }`';");
    const pre = 'const v = html`<pre>\n  a\n</pre>`;';
    assert.equal(minifyLiterals(pre, 'x.ts'), null);
  });

  it("minifies the element's real styles and templates, dropping only whitespace and comments", () => {
    for (const file of ['src/element/mistral-agent-chat.styles.ts', 'src/element/mistral-agent-chat.ts', 'src/element/sources.ts']) {
      const before = src(file);
      const after = minifyLiterals(before, file);
      assert.ok(after && after.length < before.length, `${file} got smaller`);
      assert.equal(noSpace(after), noSpace(before), `${file} differs beyond whitespace, comments and a block's last ;`);
      // the code around the literals is untouched: every line outside them survives as it was
      for (const line of ['import { LitElement', "import { css } from 'lit';", 'export const sourcesStyles = css`'])
        if (before.includes(line)) assert.ok(after.includes(line), `${file}: ${line}`);
    }
  });
});
