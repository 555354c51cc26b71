/**
 * The client IP passed to `beginTurn` for per-IP limits. `X-Forwarded-For` is trusted only when the operator
 * says a proxy they control sets it (config.trustProxy), and then only its first hop (the client as seen by
 * that proxy); otherwise the runtime's socket address (the Node entry supplies it).
 * Anything that does not look like an IP address becomes null, so a forged header cannot reach SQL.
 */
const IPV4 = /^(?:\d{1,3}\.){3}\d{1,3}$/;
const IPV6 = /^[0-9A-Fa-f:.]{2,45}$/;

/**
 * The per-IP rate-limit bucket of an address: IPv4 as is (an IPv4-mapped IPv6 address is its IPv4), IPv6
 * by its /64 network, since anyone holding a /64 could otherwise dodge the limit with a fresh address a turn.
 */
function asIp(raw: string | null | undefined): string | null {
  if (!raw) return null;
  const ip = raw.trim().toLowerCase();
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

export function resolveClientIp(
  forwardedFor: string | undefined,
  trustProxy: boolean,
  socketIp: () => string | null,
): string | null {
  if (trustProxy && forwardedFor) {
    const first = asIp(forwardedFor.split(',')[0]);
    if (first) return first;
  }
  return asIp(socketIp());
}
