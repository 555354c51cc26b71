/**
 * A browser whose `Sanitizer` ignores our allowlist (an earlier shape of the API) must not be trusted with
 * replies: the renderer sees its probe fail and sanitizes with DOMPurify instead.
 */
import './other-sanitizer-shape.ts';
import { expect } from '@open-wc/testing';
import { ready, renderMarkdown, sanitizer } from '../../src/markdown/render.ts';

it('falls back to DOMPurify when the native sanitizer does not apply the allowlist', async () => {
  await ready;
  expect(sanitizer).to.equal('dompurify');
  const html = renderMarkdown('**bold** [x](javascript:alert(1)) <b onclick="x">raw</b>');
  expect(html).to.equal('<p><strong>bold</strong> <a>x</a> &lt;b onclick="x"&gt;raw&lt;/b&gt;</p>\n');
});
