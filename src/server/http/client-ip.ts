/**
 * The client IP passed to `beginTurn` for per-IP limits. `X-Forwarded-For` is trusted only when the operator
 * says a proxy they control sets it (config.trustProxy), and then only its first hop (the client as seen by
 * that proxy); otherwise the runtime's socket address (the Node entry supplies it).
 * Anything that does not look like an IP address becomes null, so a forged header cannot reach SQL.
 */
const IPV4 = /^(?:\d{1,3}\.){3}\d{1,3}$/;
const IPV6 = /^[0-9A-Fa-f:.]{2,45}$/;

function asIp(raw: string | null | undefined): string | null {
  if (!raw) return null;
  const ip = raw.trim();
  if (IPV4.test(ip)) return ip;
  if (ip.includes(':') && IPV6.test(ip)) return ip;
  return null;
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
