/**
 * What a site owner pastes into a page, and the proxy address it points at. Shared by the server (its start-up
 * summary, the demo pages) and the CLI (`agent create`, `agent rotate-key`), so both say the same thing.
 * Runtime-neutral.
 */

type Env = Record<string, string | undefined>;

/** Printed when nothing says where visitors reach the proxy: obviously not a real address. */
export const ENDPOINT_PLACEHOLDER = 'https://YOUR-PROXY-HOST';

const attr = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

/** The two tags a site owner pastes into a page. */
export function embedSnippet(endpoint: string, apiKey: string): string {
  const base = endpoint.replace(/\/+$/, '');
  return (
    `<script type="module" src="${attr(base)}/widget.js"></script>` +
    `<mistral-agent-chat api-key="${attr(apiKey)}" endpoint="${attr(base)}"></mistral-agent-chat>`
  );
}

/** True for the addresses that mean "every interface" (HOST unset, `0.0.0.0`, `::`). */
export function isWildcardHost(host: string | undefined): boolean {
  return host === undefined || host === '' || host === '0.0.0.0' || host === '::' || host === '[::]';
}

/**
 * The URL this machine reaches a server on `host:port` at: `localhost` for every interface (a browser on
 * this machine cannot open 0.0.0.0), the address itself otherwise (IPv6 in brackets).
 */
export function localUrl(host: string | undefined, port: number): string {
  if (isWildcardHost(host)) return `http://localhost:${port}`;
  const h = host!.replace(/^\[|\]$/g, '');
  return `http://${h.includes(':') ? `[${h}]` : h}:${port}`;
}

export interface Endpoint {
  /** The proxy's base URL, without a trailing slash. */
  url: string;
  /** Where it came from: PUBLIC_URL (or --endpoint), this machine's address, or a placeholder to replace. */
  source: 'public' | 'local' | 'placeholder';
}

/**
 * Where visitors reach the proxy: PUBLIC_URL when set. Otherwise, on the embedded database (someone trying
 * it on their computer), the local address from HOST and PORT; on a real database (a deployment, whose
 * public address nothing here can know) a placeholder the owner must replace.
 */
export function endpointFor(env: Env, opts: { port?: number; embedded: boolean }): Endpoint {
  const given = env.PUBLIC_URL?.trim();
  if (given) return { url: given.replace(/\/+$/, ''), source: 'public' };
  if (!opts.embedded) return { url: ENDPOINT_PLACEHOLDER, source: 'placeholder' };
  const port = opts.port ?? (env.PORT ? Number(env.PORT) : 8787);
  return { url: localUrl(env.HOST || undefined, port), source: 'local' };
}

/** One line telling the owner what to do about an endpoint that is not PUBLIC_URL; '' when it is. */
export function endpointNote(endpoint: Endpoint): string {
  if (endpoint.source === 'placeholder') {
    return `PUBLIC_URL is not set, so the address of your proxy is unknown here: replace ${ENDPOINT_PLACEHOLDER} with it, or set PUBLIC_URL (or pass --endpoint) and run this again.`;
  }
  if (endpoint.source === 'local') {
    return `This snippet points at ${endpoint.url}, which only this computer reaches: for a real site, set PUBLIC_URL (or pass --endpoint) to the address visitors reach.`;
  }
  return '';
}
