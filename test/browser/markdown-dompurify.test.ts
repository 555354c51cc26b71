/**
 * The Markdown renderer's tests (markdown.test.ts) again, on the fallback path: the browser's HTML Sanitizer
 * API hidden, so DOMPurify (its lazy chunk, awaited through `ready`) sanitizes, as in browsers without it.
 */
import './no-native-sanitizer.ts';
import { expect } from '@open-wc/testing';
import { ready, sanitizer } from '../../src/markdown/render.ts';
import './markdown.test.ts';

before(() => ready);

it('renders through DOMPurify on this path (the native sanitizer is hidden)', () => {
  expect(sanitizer).to.equal('dompurify');
});
