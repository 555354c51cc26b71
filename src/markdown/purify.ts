/**
 * The fallback sanitizer, for browsers without the HTML Sanitizer API: DOMPurify with the allowlist of
 * policy.ts. Its own lazy chunk (render.ts imports it only where `Element.setHTML` is missing), so the browsers
 * that sanitize natively never download it. The policy is passed in, not imported: the chunk then holds
 * DOMPurify alone, and the policy stays in the renderer's chunk.
 */
import DOMPurify from 'dompurify';
import type * as Policy from './policy.ts';

// Listed too (the allowlist already excludes them) so the intent survives a future edit of TAGS.
const FORBID_TAGS = [
  'style', 'form', 'input', 'button', 'textarea', 'select', 'iframe', 'object', 'embed', 'script',
  'template', 'svg', 'math', 'link', 'meta', 'base',
];

/** A sanitize function: DOMPurify with `policy`'s allowlist and URL rules, images kept only with `allowImages`. */
export function createPurify(
  policy: Pick<typeof Policy, 'ATTRS' | 'IMAGE_ATTRS' | 'IMAGE_TAGS' | 'SAFE_URL' | 'TAGS' | 'secure'>,
): (html: string, allowImages: boolean) => string {
  const { ATTRS, IMAGE_ATTRS, IMAGE_TAGS, SAFE_URL, TAGS, secure } = policy;
  const purifier = DOMPurify(window);
  purifier.addHook('afterSanitizeAttributes', secure);
  const config = (allowImages: boolean) => ({
    ALLOWED_TAGS: allowImages ? [...TAGS, ...IMAGE_TAGS] : TAGS,
    ALLOWED_ATTR: allowImages ? [...ATTRS, ...IMAGE_ATTRS] : ATTRS,
    // Non-URL attributes must not be checked against the URL pattern below.
    ADD_URI_SAFE_ATTR: ['part', 'align', 'start'],
    ALLOWED_URI_REGEXP: SAFE_URL,
    FORBID_TAGS,
    FORBID_ATTR: ['style'],
    ALLOW_DATA_ATTR: false,
    ALLOW_ARIA_ATTR: false,
  });
  const configs = [config(false), config(true)];
  /** The config in force: set once per policy, not parsed again on every call (a streamed reply calls often). */
  let current = -1;
  return (html, allowImages) => {
    if (current !== +allowImages) purifier.setConfig(configs[(current = +allowImages)]!);
    return purifier.sanitize(html);
  };
}
