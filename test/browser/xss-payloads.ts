/**
 * Hostile assistant replies for the rendering-safety corpus (xss-corpus.test.ts). Every payload that would
 * run code calls `window.__pwned()`, sets `window.__xss` or calls `alert()`: the suite watches all three.
 * URLs under `NEVER` must never be requested (whatever the image policy); markdown images under `IMG`
 * may load only with `allow-images`. Both live on the test server's own origin, so a request to them
 * always shows up in the resource timing entries (a request to an unreachable host might not).
 */

export const NEVER = `${location.origin}/__never`;
export const IMG = `${location.origin}/__img`;

export interface Payload {
  name: string;
  src: string;
  /** With `allow-images`: an `<img>` with exactly this `src` must be rendered. */
  img?: string;
  /** A link with exactly this `href` must be rendered (a positive control: the checks are not vacuous). */
  href?: string;
}

const p = (name: string, src: string, extra: Omit<Payload, 'name' | 'src'> = {}): Payload => ({ name, src, ...extra });

/** Raw HTML: shown as text by the renderer; DOMPurify is the backstop. */
export const HTML_PAYLOADS: Payload[] = [
  p('script', '<script>window.__pwned()</script>'),
  p('script src', `<script src="${NEVER}/x.js"></script>`),
  p('script in svg', '<svg><script>window.__pwned()</script></svg>'),
  p('split-tag script', '<scr<script>ipt>window.__pwned()</scr</script>ipt>'),
  p('img onerror', '<img src=x onerror=window.__pwned()>'),
  p('img onerror alert', `<img src="${NEVER}/a.png" onerror="alert(1)">`),
  p('img slash separators', '<img/src=x/onerror=window.__pwned()>'),
  p('img unclosed', '<img src=x:x onerror=window.__pwned()//'),
  p('attribute breakout', '"><img src=x onerror=window.__pwned()>'),
  p('svg onload', '<svg onload=window.__pwned()>'),
  p('svg animate onbegin', '<svg><animate onbegin=window.__pwned() attributeName=x dur=1s>'),
  p('svg set href', '<svg><a><set attributeName=href to=javascript:window.__pwned() /><text y=9>x</text></a></svg>'),
  p('svg xlink:href', '<svg><a xlink:href="javascript:window.__pwned()"><text y=9>x</text></a></svg>'),
  p('body onload', '<body onload=window.__pwned()>'),
  p('details ontoggle', '<details open ontoggle=window.__pwned()><summary>x</summary></details>'),
  p('input autofocus onfocus', '<input autofocus onfocus=window.__pwned()>'),
  p('marquee onstart', '<marquee onstart=window.__pwned()>x</marquee>'),
  p('video source onerror', '<video><source onerror=window.__pwned()></video>'),
  p('iframe srcdoc', '<iframe srcdoc="<script>parent.__pwned()</script>"></iframe>'),
  p('iframe javascript src', '<iframe src="javascript:parent.__pwned()"></iframe>'),
  p('iframe data src', '<iframe src="data:text/html,<script>parent.__pwned()</script>"></iframe>'),
  p('iframe same-origin src', `<iframe src="${NEVER}/frame.html"></iframe>`),
  p('object data', '<object data="javascript:window.__pwned()"></object>'),
  p('object same-origin data', `<object data="${NEVER}/o.swf"></object>`),
  p('embed src', `<embed src="${NEVER}/e.swf">`),
  p('meta refresh', '<meta http-equiv="refresh" content="0;url=javascript:window.__pwned()">'),
  p('meta refresh away', `<meta http-equiv="refresh" content="0;url=${NEVER}/away">`),
  p('base href', `<base href="${NEVER}/">`),
  p('link stylesheet', `<link rel="stylesheet" href="${NEVER}/x.css">`),
  p('link preload', `<link rel="preload" as="image" href="${NEVER}/pre.png">`),
  p('form action', '<form action="javascript:window.__pwned()"><button>go</button></form>'),
  p('button formaction', '<form><button formaction="javascript:window.__pwned()">go</button></form>'),
  p('input image', `<input type="image" src="${NEVER}/i.png">`),
  p('isindex', '<isindex action="javascript:window.__pwned()" type="image">'),
  p('style @import', `<style>@import '${NEVER}/x.css';</style>`),
  p('style url', `<style>*{background:url(${NEVER}/bg.png)}</style>`),
  p('style attribute', `<div style="background:url(${NEVER}/bg2.png);position:fixed;inset:0">x</div>`),
  p('body background', `<body background="${NEVER}/bg3.png">`),
  p('video poster', `<video poster="${NEVER}/poster.png"></video>`),
  p('template', '<template><img src=x onerror=window.__pwned()></template>'),
  p('noscript mXSS', '<noscript><p title="</noscript><img src=x onerror=window.__pwned()>">'),
  p('svg style mXSS', '<svg><style><img src=x onerror=window.__pwned()>'),
  p('svg p style mXSS', '<svg></p><style><a id="</style><img src=1 onerror=window.__pwned()>">'),
  p('math mglyph style mXSS', '<math><mtext><table><mglyph><style><img src=x onerror=window.__pwned()>'),
  p(
    'math mglyph comment mXSS',
    '<math><mtext><table><mglyph><style><!--</style><img title="--&gt;&lt;/mglyph&gt;&lt;img&Tab;src=1&Tab;onerror=window.__pwned()&gt;">',
  ),
  p('form math nesting mXSS', '<form><math><mtext></form><form><mglyph><style></math><img src onerror=window.__pwned()>'),
  p('xmp mXSS', '<xmp><p title="</xmp><img src=x onerror=window.__pwned()>">'),
  p('textarea mXSS', '<textarea><p title="</textarea><img src=x onerror=window.__pwned()>">'),
  p('title mXSS', '<title><p title="</title><img src=x onerror=window.__pwned()>">'),
  p('comment breakout', '<!--<img src="--><img src=x onerror=window.__pwned()//">'),
  p('raw anchor', '<a href="javascript:window.__pwned()">x</a>'),
  p('raw anchor entity scheme', '<a href="&#106;avascript:window.__pwned()">x</a>'),
  p('raw anchor onclick', '<a href="https://ok.test/" onclick="window.__xss=1">x</a>'),
  p('div onmouseover', '<div onmouseover="window.__xss=1">hover</div>'),
];

/** Markdown-level attacks: links, images, references, autolinks, HTML blocks, code. */
export const MARKDOWN_PAYLOADS: Payload[] = [
  p('safe link (control)', '[ok](https://ok.test/a)', { href: 'https://ok.test/a' }),
  p('safe mailto (control)', '[mail](mailto:a@ok.test)', { href: 'mailto:a@ok.test' }),
  p('javascript link', '[x](javascript:window.__pwned())'),
  p('javascript link alert', '[x](javascript:alert(1))'),
  p('javascript link upper case', '[x](JAVASCRIPT:window.__pwned())'),
  p('javascript link leading space', '[x]( javascript:window.__pwned())'),
  p('javascript link comment newline', '[x](javascript://%0Awindow.__pwned())'),
  p('vbscript link', '[x](vbscript:msgbox(1))'),
  p('data html link', '[x](data:text/html,<script>window.__pwned()</script>)'),
  p('data base64 link', '[x](data:text/html;base64,PHNjcmlwdD53aW5kb3cuX19wd25lZCgpPC9zY3JpcHQ+)'),
  p('decimal entity scheme', '[x](&#106;avascript:window.__pwned())'),
  p('hex entity scheme', '[x](&#x6A;avascript:window.__pwned())'),
  p('entity tab in scheme', '[x](jav&#x09;ascript:window.__pwned())'),
  p('entity newline in scheme', '[x](jav&#x0A;ascript:window.__pwned())'),
  p('entity NUL in scheme', '[x](java&#0;script:window.__pwned())'),
  p('entity colon', '[x](javascript&colon;window.__pwned())'),
  p('angle-bracket destination', '[x](<javascript:window.__pwned()>)'),
  p('reference link', '[x][1]\n\n[1]: javascript:window.__pwned()'),
  p('reference link with title', '[x][1]\n\n[1]: <javascript:alert(1)> "t"'),
  p('shortcut reference', '[evil]\n\n[evil]: vbscript:msgbox(1)'),
  p('reference defined first', '[1]: data:text/html,x\n\n[x][1]'),
  p('autolink javascript', '<javascript:window.__pwned()>'),
  p('autolink vbscript', '<vbscript:msgbox(1)>'),
  p('autolink data', '<data:text/html,<script>window.__pwned()</script>>'),
  p('autolink attribute breakout', '<https://ok.test/"onmouseover="window.__pwned()>'),
  p('gfm bare url with html', 'www.ok.test/<img src=x onerror=window.__pwned()>'),
  p('protocol-relative link', '[x](//evil.test/a)'),
  p('scheme-relative link (path)', '[x](http:/admin)'),
  p('scheme-relative link (no slash)', '[x](http:admin)'),
  p('scheme-relative https link', '[x](https:/admin)'),
  p('scheme only link', '[x](http:)'),
  p('link title breakout', '[x](https://ok.test/ "a\\" onmouseover=\\"window.__pwned()")'),
  p('link url breakout', '[x](https://ok.test/"><img src=x onerror=window.__pwned()>)'),
  p('link then html', '[x](https://ok.test/)<img src=x onerror=window.__pwned()>'),
  p('html block', '<div>\n<script>window.__pwned()</script>\n</div>'),
  p('html block with markdown', '<details open ontoggle=window.__pwned()>\n\n**x**\n\n</details>'),
  p('html in heading', '# <img src=x onerror=window.__pwned()>'),
  p('html in emphasis', '**<img src=x onerror=window.__pwned()>**'),
  p('html in quote', '> <script>window.__pwned()</script>'),
  p('html in list', '- [ ] <img src=x onerror=window.__pwned()>\n- <svg onload=window.__pwned()>'),
  p('html in table', '| a |\n|---|\n| <img src=x onerror=window.__pwned()> |'),
  p('inline code html', '`<img src=x onerror=window.__pwned()>`'),
  p('code fence language breakout', '```js" onmouseover="window.__pwned()\n<script>window.__pwned()</script>\n```'),
  p('image https', '![a](https://evil.test/x.png)', { img: 'https://evil.test/x.png' }),
  p('image same origin', `![a](${IMG}/md.png)`, { img: `${IMG}/md.png` }),
  p('image javascript', '![a](javascript:window.__pwned())'),
  p('image data svg', '![a](data:image/svg+xml,<svg onload=window.__pwned()>)'),
  p('image vbscript', '![a](vbscript:msgbox(1))'),
  p('image reference', `![a][i]\n\n[i]: ${IMG}/ref.png`, { img: `${IMG}/ref.png` }),
  p('image alt breakout', `![a" onerror="window.__pwned()](${IMG}/alt.png)`, { img: `${IMG}/alt.png` }),
  p('image title breakout', `![a](${IMG}/t.png "t\\" onerror=\\"window.__pwned()")`, { img: `${IMG}/t.png` }),
  p('image scheme-relative to the host page', '![a](http:/__never/relative.png)'),
  p('image reference scheme-relative', '![a][r]\n\n[r]: http:/__never/ref-relative.png'),
  p('image inside javascript link', '[![a](https://evil.test/nested.png)](javascript:window.__pwned())', { img: 'https://evil.test/nested.png' }),
];

export const PAYLOADS: Payload[] = [...HTML_PAYLOADS, ...MARKDOWN_PAYLOADS];

/**
 * URLs a hostile server or model could put on a source: none may become a link (only absolute http(s) does);
 * the last ones are controls that must.
 */
export const SOURCE_URLS: { url: string; link: boolean }[] = [
  { url: 'javascript:window.__pwned()', link: false },
  { url: 'JaVaScRiPt:window.__pwned()', link: false },
  { url: ' javascript:window.__pwned()', link: false },
  { url: 'java\tscript:window.__pwned()', link: false },
  { url: 'java\nscript:window.__pwned()', link: false },
  { url: '&#106;avascript:window.__pwned()', link: false },
  { url: 'vbscript:msgbox(1)', link: false },
  { url: 'data:text/html,<script>window.__pwned()</script>', link: false },
  { url: 'data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9d2luZG93Ll9fcHduZWQoKT4=', link: false },
  { url: `//${location.host}/__never/protocol-relative`, link: false },
  { url: '///__never/triple-slash', link: false },
  { url: '\\\\evil.test/x', link: false },
  { url: '/__never/relative', link: false },
  { url: '__never/bare', link: false },
  { url: 'http:/__never/one-slash', link: false },
  { url: 'https:__never', link: false },
  { url: 'file:///etc/passwd', link: false },
  { url: 'mailto:a@ok.test', link: false },
  { url: 'blob:https://ok.test/1', link: false },
  { url: '', link: false },
  { url: 'https://ok.test/source?q="><img src=x onerror=window.__pwned()>', link: true },
  { url: 'http://ok.test/plain', link: true },
];
