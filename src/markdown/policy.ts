/**
 * What a reply's HTML may hold, for both sanitizers (render.ts): the browser's own (`Element.setHTML` with a
 * `Sanitizer`) where it ships, DOMPurify (purify.ts, its own lazy chunk) elsewhere. One allowlist, one URL rule.
 */

export const TAGS = [
  'a', 'p', 'br', 'hr', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'strong', 'em', 'del', 's', 'code', 'pre',
  'blockquote', 'ul', 'ol', 'li', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'div', 'span',
];
export const ATTRS = ['href', 'title', 'class', 'part', 'align', 'start'];
/** With `allowImages`. */
export const IMAGE_TAGS = ['img'];
export const IMAGE_ATTRS = ['src', 'alt'];
/** Only these schemes survive, for links and image sources alike (images: http(s) only, below). */
export const SAFE_URL = /^(?:https?|mailto):/i;
export const HTTP_URL = /^https?:/i;

/**
 * `scheme` passes and the URL is absolute: it means the same whatever page it is on. `http:/admin`, `http:x`
 * or a bare `http:` pass the scheme test yet resolve against the host page (a same-origin link, or a
 * credentialed image request to the host site); they parse differently against two bases and are dropped.
 */
export function absolute(url: string, scheme: RegExp): boolean {
  if (!scheme.test(url.trim())) return false;
  try {
    return new URL(url, 'http://a.invalid/').href === new URL(url, 'https://b.invalid/').href;
  } catch {
    return false;
  }
}

/** The last word on a sanitized link or image: an absolute safe URL or none; links open in a new tab without
 * referrer; images load lazily without referrer. */
export function secure(node: Element): void {
  if (node.nodeName === 'A') {
    const href = node.getAttribute('href');
    if (href !== null && !absolute(href, SAFE_URL)) node.removeAttribute('href');
    if (node.hasAttribute('href')) {
      node.setAttribute('target', '_blank');
      node.setAttribute('rel', 'noopener noreferrer');
    }
  } else if (node.nodeName === 'IMG') {
    const src = node.getAttribute('src');
    if (src !== null && !absolute(src, HTTP_URL)) node.removeAttribute('src');
    node.setAttribute('loading', 'lazy');
    node.setAttribute('referrerpolicy', 'no-referrer');
  }
}
