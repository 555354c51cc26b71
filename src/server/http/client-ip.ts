/**
 * The client IP passed to `beginTurn` for per-IP limits. `X-Forwarded-For` is read only when the operator says
 * how many proxies of theirs stand in front (TRUST_PROXY = N hops, as Express's `trust proxy`): each proxy
 * appends the address it saw, so the N-th entry from the right is the one the outermost trusted proxy wrote,
 * and whatever a client put further left is ignored (a forged value never makes a fresh bucket). Otherwise
 * the runtime's own view of the client (the Node entry: the socket's peer; the Supabase Edge Function: the
 * gateway's `cf-connecting-ip`). Anything that does not look like an IP address becomes null, so a forged
 * header cannot reach SQL.
 */
const IPV4 = /^(?:\d{1,3}\.){3}\d{1,3}$/;
const IPV6 = /^[0-9A-Fa-f:.]{2,45}$/;

/**
 * The per-IP rate-limit bucket of an address: IPv4 as is (an IPv4-mapped IPv6 address is its IPv4), IPv6
 * by its /64 network, since anyone holding a /64 could otherwise dodge the limit with a fresh address a turn.
 */
function asIp(raw: string | null | undefined): string | null {
  if (!raw) return null;
  let ip = raw.trim().toLowerCase();
  // Some proxies write the peer's port too: `203.0.113.7:51234`, `[2001:db8::1]:443`.
  const withPort = /^(\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}$/.exec(ip) ?? /^\[([0-9a-f:.]+)\](?::\d{1,5})?$/.exec(ip);
  if (withPort) ip = withPort[1]!;
  if (IPV4.test(ip)) return ip;
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(ip);
  if (mapped) return mapped[1] ?? null;
  if (ip.includes(':') && IPV6.test(ip)) return ipv6Network64(ip);
  return null;
}

/** The first four groups of an IPv6 address, expanded (`2001:db8::1` → `2001:db8:0:0::/64`). */
function ipv6Network64(ip: string): string | null {
  const [head = '', tail, extra] = ip.split('::');
  if (extra !== undefined) return null;
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const missing = 8 - left.length - right.length;
  if (tail === undefined ? missing !== 0 : missing < 0) return null;
  const groups = [...left, ...Array<string>(Math.max(missing, 0)).fill('0'), ...right];
  if (groups.slice(0, 4).some((g) => !/^[0-9a-f]{1,4}$/.test(g))) return null;
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

/**
 * `trustedHops` = TRUST_PROXY. With fewer entries than hops, the left-most one (as Express does). An entry
 * that is not an address falls back to the runtime's view (the nearest proxy): one shared bucket, never a
 * fresh one per forged value.
 */
export function resolveClientIp(
  forwardedFor: string | undefined,
  trustedHops: number,
  runtimeIp: () => string | null,
): string | null {
  if (trustedHops > 0 && forwardedFor) {
    const entries = forwardedFor.split(',').map((e) => e.trim()).filter(Boolean);
    const chosen = asIp(entries[Math.max(entries.length - trustedHops, 0)]);
    if (chosen) return chosen;
  }
  return asIp(runtimeIp());
}

/**
 * The header Supabase's API gateway puts the client's address in, for the Edge Function (no socket peer there).
 * Requests to a Supabase project pass through Cloudflare, which sets `CF-Connecting-IP` to the address that
 * connected to it, replacing any value the client sent (developers.cloudflare.com/fundamentals/reference/http-headers/);
 * Supabase's own request logs take the client address from it (supabase.com/docs/guides/telemetry/logs,
 * "Allowed headers"; supabase/supabase docker/volumes/logs/vector.yml maps Kong's client to cf_connecting_ip).
 * `X-Forwarded-For` there starts with whatever the client sent (supabase/supabase discussion #34647).
 */
export const SUPABASE_CLIENT_IP_HEADER = 'cf-connecting-ip';

/** The Edge Function's `getClientIp`: the gateway's client address, or null (e.g. `supabase functions serve`). */
export function supabaseClientIp(headers: Headers): string | null {
  return headers.get(SUPABASE_CLIENT_IP_HEADER);
}
