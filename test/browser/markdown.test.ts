import { expect } from '@open-wc/testing';
import { MarkdownStream, renderMarkdown, sanitizer } from '../../src/markdown/render.ts';

declare global {
  interface Window {
    __xss?: number;
  }
}

function fragment(html: string): DocumentFragment {
  const t = document.createElement('template');
  t.innerHTML = html;
  return t.content;
}

const DANGEROUS_TAGS = 'script, style, iframe, object, embed, form, input, button, textarea, select, template, svg, math, link, meta, base';

/** Everything the policy promises, checked on the DOM the HTML turns into. */
function assertSafe(html: string, opts: { allowImages?: boolean } = {}): DocumentFragment {
  const f = fragment(html);
  expect(f.querySelectorAll(DANGEROUS_TAGS).length, html).to.equal(0);
  for (const el of f.querySelectorAll('*')) {
    for (const attr of el.attributes) {
      expect(attr.name.startsWith('on'), `${attr.name} in ${html}`).to.equal(false);
      expect(attr.name, html).to.not.equal('style');
    }
  }
  for (const a of f.querySelectorAll('a[href]')) {
    expect(a.getAttribute('href'), html).to.match(/^(https?|mailto):/i);
    expect(a.getAttribute('target')).to.equal('_blank');
    expect(a.getAttribute('rel')).to.equal('noopener noreferrer');
  }
  const imgs = f.querySelectorAll('img');
  if (!opts.allowImages) expect(imgs.length, html).to.equal(0);
  for (const img of imgs) {
    const src = img.getAttribute('src');
    if (src !== null) expect(src).to.match(/^https?:/i);
  }
  return f;
}

/** Mounts the HTML in the live document so anything that would run gets its chance. */
async function mountAndWait(html: string): Promise<void> {
  const host = document.createElement('div');
  host.innerHTML = html;
  document.body.append(host);
  await new Promise((r) => setTimeout(r, 50));
  host.remove();
}

const XSS_VECTORS: Record<string, string> = {
  'script tag': '<script>window.__xss++</script>',
  'script inside a paragraph': 'hello <script>window.__xss++</script> world',
  'img onerror': '<img src=x onerror="window.__xss++">',
  'img onerror without spaces': 'text <img/src=x/onerror=window.__xss++> more',
  'svg onload': '<svg onload="window.__xss++"><circle r=1 /></svg>',
  'iframe srcdoc': '<iframe srcdoc="<script>parent.__xss++</script>"></iframe>',
  'javascript: link': '[click](javascript:window.__xss++)',
  'mixed-case javascript: link': '[click](JaVaScRiPt:window.__xss++)',
  'vbscript: link': '[click](vbscript:msgbox(1))',
  'data: link': '[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)',
  'entity-encoded scheme (hex)': '[click](jav&#x61;script:window.__xss++)',
  'entity-encoded scheme (decimal)': '[click](&#106;avascript:window.__xss++)',
  'entity-encoded colon': '[click](javascript&colon;window.__xss++)',
  'angle-bracket destination': '[click](<javascript:window.__xss++>)',
  'reference-style link': '[click][evil]\n\n[evil]: javascript:window.__xss++',
  'reference-style with title': '[click][evil]\n\n[evil]: vbscript:x "title"',
  'autolink with javascript scheme': '<javascript:window.__xss++>',
  'raw anchor': '<a href="javascript:window.__xss++">x</a>',
  'raw HTML block': '<div onclick="window.__xss++" style="position:fixed;inset:0">\n\nhi\n\n</div>',
  'details ontoggle': '<details open ontoggle="window.__xss++"><summary>x</summary></details>',
  'style @import': '<style>@import url(https://evil.example/x.css); body{display:none}</style>',
  'link stylesheet': '<link rel="stylesheet" href="https://evil.example/x.css">',
  form: '<form action="https://evil.example"><input name="q"><button>go</button></form>',
  'object/embed': '<object data="https://evil.example/x.swf"></object><embed src="https://evil.example/x">',
  'math and template': '<math><mi xlink:href="javascript:alert(1)">x</mi></math><template><script>1</script></template>',
  'image with javascript src': '![x](javascript:window.__xss++)',
  'image with data src': '![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9ImFsZXJ0KDEpIi8+)',
  'code fence language injection': '```js" onmouseover="window.__xss++\ncode\n```',
  'link title breakout': '[x](https://example.com "a\\" onmouseover=\\"window.__xss++")',
  'base tag': '<base href="https://evil.example/">',
  'meta refresh': '<meta http-equiv="refresh" content="0;url=https://evil.example">',
};

describe('markdown rendering', () => {
  it("sanitizes with the browser's own HTML sanitizer where it ships, DOMPurify elsewhere", () => {
    const native = typeof (window as { Sanitizer?: unknown }).Sanitizer === 'function' && 'setHTML' in Element.prototype;
    expect(sanitizer).to.equal(native ? 'native' : 'dompurify');
  });

  describe('sanitizing untrusted replies', () => {
    for (const [name, src] of Object.entries(XSS_VECTORS)) {
      it(`neutralises ${name}`, async () => {
        window.__xss = 0;
        const html = renderMarkdown(src);
        assertSafe(html);
        await mountAndWait(html);
        expect(window.__xss).to.equal(0);
      });
    }

    it('shows raw HTML as text instead of dropping what the assistant wrote', () => {
      const f = fragment(renderMarkdown('Use <b>bold</b> and <script>x()</script>'));
      expect(f.textContent).to.contain('<b>bold</b>');
      expect(f.textContent).to.contain('<script>x()</script>');
      expect(f.querySelector('b')).to.equal(null);
    });

    it('drops relative, protocol-relative and fragment links but keeps their text', () => {
      for (const src of ['[here](/admin)', '[here](//evil.example/x)', '[here](#top)', '[here](evil.example)']) {
        const f = assertSafe(renderMarkdown(src));
        expect(f.querySelector('a[href]'), src).to.equal(null);
        expect(f.textContent?.trim(), src).to.equal('here');
      }
    });

    it('strips styles and event handlers even when allowImages is on', () => {
      const src = '<img src="https://x.example/a.png" onerror="window.__xss++" style="width:9999px">';
      assertSafe(renderMarkdown(src, { allowImages: true }), { allowImages: true });
    });
  });

  describe('links', () => {
    it('opens http, https and mailto links in a new tab without referrer', () => {
      const f = assertSafe(
        renderMarkdown('[a](https://example.com/x?y=1&z=2) [b](http://example.com) [c](mailto:hi@example.com)'),
      );
      const hrefs = [...f.querySelectorAll('a')].map((a) => a.getAttribute('href'));
      expect(hrefs).to.deep.equal(['https://example.com/x?y=1&z=2', 'http://example.com', 'mailto:hi@example.com']);
    });

    it('links autolinks, bare URLs, emails and reference-style links', () => {
      const src = '<https://a.example> www.b.example c@d.example [ref][r]\n\n[r]: https://r.example "Title"';
      const f = assertSafe(renderMarkdown(src));
      const hrefs = [...f.querySelectorAll('a')].map((a) => a.getAttribute('href'));
      expect(hrefs).to.deep.equal(['https://a.example', 'http://www.b.example', 'mailto:c@d.example', 'https://r.example']);
      expect(f.querySelector('a[title="Title"]')).to.not.equal(null);
    });
  });

  describe('images', () => {
    it('turns an image into a link to its URL by default, so nothing loads', () => {
      const f = assertSafe(renderMarkdown('![a cat](https://img.example/cat.png)'));
      const a = f.querySelector('a');
      expect(a?.getAttribute('href')).to.equal('https://img.example/cat.png');
      expect(a?.textContent).to.equal('a cat');
    });

    it('uses the URL as link text when the image has no alt text', () => {
      const f = assertSafe(renderMarkdown('![](https://img.example/cat.png)'));
      expect(f.querySelector('a')?.textContent).to.equal('https://img.example/cat.png');
    });

    it('keeps a linked image as the outer link only, never a nested link', () => {
      const f = assertSafe(renderMarkdown('[![logo](https://img.example/l.png)](https://site.example)'));
      const links = f.querySelectorAll('a');
      expect(links.length).to.equal(1);
      expect(links[0]?.getAttribute('href')).to.equal('https://site.example');
      expect(links[0]?.textContent).to.equal('logo');
    });

    it('loads http(s) images lazily without referrer only when allowImages is on', () => {
      const f = assertSafe(renderMarkdown('![a cat](https://img.example/cat.png "Cat")', { allowImages: true }), {
        allowImages: true,
      });
      const img = f.querySelector('img');
      expect(img?.getAttribute('src')).to.equal('https://img.example/cat.png');
      expect(img?.getAttribute('alt')).to.equal('a cat');
      expect(img?.getAttribute('loading')).to.equal('lazy');
      expect(img?.getAttribute('referrerpolicy')).to.equal('no-referrer');
    });

    it('never loads a data: or javascript: image, even when allowImages is on', () => {
      for (const src of ['![x](data:image/png;base64,iVBORw0KGgo=)', '![x](javascript:alert(1))']) {
        const f = assertSafe(renderMarkdown(src, { allowImages: true }), { allowImages: true });
        expect(f.querySelector('img'), src).to.equal(null);
      }
    });
  });

  describe('structure', () => {
    it('wraps code blocks so the element can enhance them', () => {
      const f = fragment(renderMarkdown('```js\nif (a < b) run();\n```'));
      const wrapper = f.querySelector('div.code-block');
      expect(wrapper?.getAttribute('part')).to.equal('code-block');
      const code = wrapper?.querySelector(':scope > pre > code');
      expect(code?.className).to.equal('language-js');
      expect(code?.textContent).to.equal('if (a < b) run();\n');
    });

    it('renders a fence still open while streaming as code', () => {
      const f = fragment(renderMarkdown('Here:\n\n```python\nprint("hi")\n'));
      expect(f.querySelector('.code-block code.language-python')?.textContent).to.equal('print("hi")\n');
    });

    it('keeps the markdown a reply needs: headings, emphasis, lists, quotes, tables', () => {
      const src = '# T\n\n*e* **s** ~~d~~ `c`\n\n3. x\n4. y\n\n> q\n\n| a | b |\n|:--|--:|\n| 1 | 2 |\n\n- [x] done\n- [ ] todo\n\n---';
      const f = assertSafe(renderMarkdown(src));
      for (const sel of ['h1', 'em', 'strong', 'del', 'code', 'ol[start="3"]', 'blockquote', 'table', 'th[align="left"]', 'hr']) {
        expect(f.querySelector(sel), sel).to.not.equal(null);
      }
      expect(f.textContent).to.contain('☑ done').and.to.contain('☐ todo');
    });
  });
});

/** Documents whose block structure is easy to break by splitting at blank lines. */
const STREAM_DOCS: Record<string, string> = {
  prose: 'First paragraph with **bold**.\n\nSecond one, with a [link](https://example.com).\n\n## Heading\n\nLast.\n',
  'loose list': '- one\n\n- two\n\n  continued\n\n- three\n\nAfter the list.\n',
  'ordered loose list': '1. a\n\n2. b\n\n10. c\n\nend\n',
  'list after paragraph': 'Intro:\n\n- a\n- b\n\nOutro\n',
  'nested list with code': '- item\n\n  ```js\n  const x = 1;\n\n  const y = 2;\n  ```\n\n- next\n\nText\n',
  'fence with blank lines': 'Code:\n\n```\nline 1\n\nline 2\n\n\nline 3\n```\n\nAfter.\n',
  'tilde fence and longer close': '~~~~md\n```\n\nnot closed by this\n```\n~~~~~\n\nDone\n',
  'indented code': 'Para\n\n    code 1\n\n    code 2\n\nPara 2\n',
  'quote then list': '> quoted\n> more\n\n- a\n\n> again\n',
  'table then text': '| a | b |\n|---|---|\n| 1 | 2 |\n\nafter\n',
  'setext and hr': 'Title\n=====\n\ntext\n\n---\n\n* * *\n\nend\n',
  'definitions at the end': 'See [the docs][d] and [home].\n\nMore text.\n\n[d]: https://docs.example "Docs"\n[home]: https://home.example\n',
  'duplicate definitions': '[x]\n\n[x]: https://first.example\n\n[x]: https://second.example\n',
  'crlf line endings': 'a\r\n\r\nb\r\n\r\n- c\r\n\r\n- d\r\n',
  'raw html lookalikes': '<div>\n\n<pre>\n\nx\n\n</pre>\n\n<!-- c\n\nd -->\n\nend\n',
  'unclosed fence at the end': 'Intro\n\n```ts\nlet a = 1;\n\nlet b = 2;\n',
};

describe('MarkdownStream', () => {
  for (const [name, doc] of Object.entries(STREAM_DOCS)) {
    it(`renders every prefix exactly like a full render (${name})`, () => {
      const stream = new MarkdownStream();
      for (let i = 1; i <= doc.length; i++) {
        const prefix = doc.slice(0, i);
        expect(stream.set(prefix), JSON.stringify(prefix)).to.equal(renderMarkdown(prefix));
      }
    });
  }

  it('renders every prefix of generated documents exactly like a full render', function () {
    this.timeout(60000);
    // Lines that open, continue or close blocks in ways a blank-line split could get wrong.
    const pieces = ['', '', '', '- a', '  b', '1. x', '```', '~~~', '    code', '> q', '# h', 'text *em', '[r]: https://r.example',
      '[r]', '| a |', '|---|', '* * *', '---', '  - nested', '\t- tab', '   ```', '2) y', '+ z', '   para', '===', '> - q', '[s]:', '  https://s.example "t"', '[s]'];
    let seed = 4242;
    const rnd = (n: number) => (seed = (seed * 48271) % 2147483647) % n;
    for (let d = 0; d < 60; d++) {
      const lines = Array.from({ length: 4 + rnd(20) }, () => pieces[rnd(pieces.length)]);
      const doc = lines.join(rnd(5) ? '\n' : '\r\n') + '\n';
      const stream = new MarkdownStream();
      for (let i = 1; i <= doc.length; i++) {
        const prefix = doc.slice(0, i);
        expect(stream.set(prefix), JSON.stringify(prefix)).to.equal(renderMarkdown(prefix));
      }
    }
  });

  it('ends equal to a full render when text arrives in uneven chunks', () => {
    const doc = Object.values(STREAM_DOCS).join('\n');
    const stream = new MarkdownStream({ allowImages: true });
    let html = '';
    let seed = 7;
    for (let i = 0; i < doc.length; ) {
      seed = (seed * 48271) % 2147483647;
      i = Math.min(doc.length, i + 1 + (seed % 40));
      html = stream.set(doc.slice(0, i));
    }
    expect(html).to.equal(renderMarkdown(doc, { allowImages: true }));
    expect(stream.segments().join('')).to.equal(html);
  });

  it('starts over when the text is not a continuation', () => {
    const stream = new MarkdownStream();
    stream.set('# One\n\nfirst\n\nsecond');
    expect(stream.set('Other\n\ntext')).to.equal(renderMarkdown('Other\n\ntext'));
  });

  it('re-renders earlier blocks when a later reference definition arrives', () => {
    const stream = new MarkdownStream();
    stream.set('Read [the guide].\n\nMore.\n\n');
    const html = stream.set('Read [the guide].\n\nMore.\n\n[the guide]: https://guide.example\n');
    expect(fragment(html).querySelector('a')?.getAttribute('href')).to.equal('https://guide.example');
  });

  it('lexes only the unfinished tail, however long the reply already is', () => {
    const paragraph = (i: number) => `Paragraph ${String(i).padStart(4, "0")} with *some* text and a [link](https://example.com/).\n\n`;
    const costOfOneUpdate = (paragraphs: number) => {
      const stream = new MarkdownStream();
      let text = '';
      for (let i = 0; i < paragraphs; i++) {
        text += paragraph(i);
        stream.set(text);
      }
      text += 'The tail is being';
      stream.set(text);
      const before = stream.lexedChars;
      stream.set(text + ' written');
      return stream.lexedChars - before;
    };
    const short = costOfOneUpdate(10);
    const long = costOfOneUpdate(400);
    expect(long).to.equal(short);
    expect(long).to.be.below(2 * paragraph(0).length);
  });
});
