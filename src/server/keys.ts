/** Widget API keys: `mac_` + 32 random bytes in base64url (43 chars). Runtime-neutral (Web Crypto only). */

export const API_KEY_PREFIX = 'mac_';
const KEY_BYTES = 32;

/** The shape of a key this package issues: `mac_` followed by 43 base64url characters. */
export const API_KEY_PATTERN = /^mac_[A-Za-z0-9_-]{43}$/;

function base64url(bytes: Uint8Array): string {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** A fresh, unguessable widget key. */
export function generateApiKey(): string {
  const bytes = new Uint8Array(KEY_BYTES);
  crypto.getRandomValues(bytes);
  return API_KEY_PREFIX + base64url(bytes);
}

/**
 * A fresh identity secret (the HS256 key a site's backend signs visitor tokens with): 32 random bytes in
 * base64url, 43 printable characters (migration 00004 wants 32 to 512, no whitespace).
 */
export function generateIdentitySecret(): string {
  const bytes = new Uint8Array(KEY_BYTES);
  crypto.getRandomValues(bytes);
  return base64url(bytes);
}
