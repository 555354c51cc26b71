/**
 * The whole rendering safety corpus (xss-corpus.test.ts) again, on the fallback path: the browser's HTML
 * Sanitizer API hidden, so replies are sanitized by DOMPurify (its lazy chunk), as in browsers without it.
 */
import './no-native-sanitizer.ts';
import { expect } from '@open-wc/testing';
import { ready, sanitizer } from '../../src/markdown/render.ts';
import './xss-corpus.test.ts';

it('renders replies through DOMPurify on this path (the native sanitizer is hidden)', async () => {
  await ready;
  expect(sanitizer).to.equal('dompurify');
});
