/**
 * The agent's origin allowlist (`agents.allowed_origins`): the one place that says what a valid entry is
 * (the CLI and the owner API validate with `isValidOriginEntry`) and what it lets in (the proxy). Pure: no I/O.
 *
 * Entries are exact origins (`https://shop.example.com`, `http://localhost:5173`) or a subdomain wildcard
 * (`https://*.example.com`: any subdomain at any depth, NOT the apex, only that scheme and port).
 * `*` allows everything; null or an empty list also means any origin.
 * Entries are normalised through URL parsing, so case, default ports and a trailing slash do not matter.
 */

/**
 * The shapes the database accepts (the CHECK constraint agents_allowed_origins_check of migration 00003,
 * case-insensitive): `*`, `null`, `scheme://host[:port][/]`, `scheme://*.host[:port][/]`. The database keeps
 * it as its last line; here an entry must also parse as a URL with an origin, which refuses what would never
 * match a browser's Origin (a port over 65535, `chrome-extension://…`, a malformed IPv4 or percent escape).
 * test/node/origin.test.ts checks both rules on one table of cases.
 */
const ENTRY_SHAPE = /^(\*|null|[a-z][a-z0-9+.-]*:\/\/(\*\.)?([^\][/:@?#*\s]+|\[[0-9a-f:.]+\])(:[0-9]{1,5})?\/?)$/i;

const WILDCARD_HOST = 'wildcard-placeholder';
/** What a browser puts in an Origin's host: DNS names (punycode) or IP literals. URL parsing allows more (`*`). */
const HOSTNAME = /^(?:[a-z0-9-]+(?:\.[a-z0-9-]+)*\.?|\[[0-9a-f:.]+\])$/;

type Rule =
  | { kind: 'any' }
  | { kind: 'exact'; origin: string }
  | { kind: 'subdomains'; protocol: string; port: string; suffix: string };

function compileEntry(entry: string): Rule | null {
  if (!ENTRY_SHAPE.test(entry)) return null;
  if (entry === '*') return { kind: 'any' };
  if (entry.toLowerCase() === 'null') return { kind: 'exact', origin: 'null' };
  const wildcard = entry.includes('://*.');
  try {
    const url = new URL(wildcard ? entry.replace('://*.', `://${WILDCARD_HOST}.`) : entry);
    if (url.origin === 'null') return null; // not a scheme with an origin (e.g. `file:`, `data:`)
    if (!wildcard) return { kind: 'exact', origin: url.origin };
    const base = url.hostname.slice(WILDCARD_HOST.length + 1);
    if (!base) return null;
    return { kind: 'subdomains', protocol: url.protocol, port: url.port, suffix: `.${base}` };
  } catch {
    return null; // a malformed entry allows nothing
  }
}

/** True when `entry` may be stored in `allowed_origins` and can match a browser's Origin. */
export function isValidOriginEntry(entry: string): boolean {
  return compileEntry(entry) !== null;
}

function matches(rule: Rule, origin: string, url: URL | null): boolean {
  switch (rule.kind) {
    case 'any':
      return true;
    case 'exact':
      return rule.origin === (url ? url.origin : origin);
    case 'subdomains':
      return (
        url !== null &&
        url.protocol === rule.protocol &&
        url.port === rule.port &&
        url.hostname.endsWith(rule.suffix) &&
        url.hostname.length > rule.suffix.length
      );
  }
}

/** True when a browser page at `origin` (the request's Origin header) may use an agent with this allowlist. */
export function isOriginAllowed(origin: string, allowed: readonly string[] | null | undefined): boolean {
  if (!allowed || allowed.length === 0) return true;
  let url: URL | null = null;
  if (origin !== 'null') {
    try {
      url = new URL(origin);
    } catch {
      return false;
    }
    // Browsers send the canonical serialisation; anything else (a path, a default port) is not a real Origin.
    if (url.origin === 'null' || url.origin !== origin || !HOSTNAME.test(url.hostname)) return false;
  }
  return allowed.some((entry) => {
    const rule = compileEntry(entry);
    return rule !== null && matches(rule, origin, url);
  });
}
