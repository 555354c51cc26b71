/**
 * Imported first by the *-dompurify test files: hides the browser's HTML Sanitizer API before the Markdown
 * renderer loads, so that it takes its other path (DOMPurify, src/markdown/purify.ts) in this browser too.
 */
delete (window as { Sanitizer?: unknown }).Sanitizer;
delete (Element.prototype as { setHTML?: unknown }).setHTML;
