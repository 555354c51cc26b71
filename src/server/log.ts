/** Structured one-line JSON logs on stderr-like sinks; runtime-neutral (console only). */
export interface Logger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export function consoleLogger(base: Record<string, unknown> = {}): Logger {
  const line = (level: string, msg: string, fields?: Record<string, unknown>) =>
    JSON.stringify({ t: new Date().toISOString(), level, msg, ...base, ...fields });
  return {
    info: (m, f) => console.log(line('info', m, f)),
    warn: (m, f) => console.warn(line('warn', m, f)),
    error: (m, f) => console.error(line('error', m, f)),
  };
}

/** A logger that keeps lines in memory: tests assert on what was logged. */
export function memoryLogger(): Logger & { lines: { level: string; msg: string; fields?: Record<string, unknown> }[] } {
  const lines: { level: string; msg: string; fields?: Record<string, unknown> }[] = [];
  const push = (level: string) => (msg: string, fields?: Record<string, unknown>) => {
    lines.push(fields === undefined ? { level, msg } : { level, msg, fields });
  };
  return { lines, info: push('info'), warn: push('warn'), error: push('error') };
}

/** `key=value` with quotes only where needed, for human log lines. */
function textValue(v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s !== undefined && /^[^\s"=]+$/.test(s) ? s : JSON.stringify(s ?? null);
}

/** Human log lines for a terminal: `12:00:01 warn  message key=value …`; same sinks as consoleLogger. */
export function textLogger(base: Record<string, unknown> = {}): Logger {
  const line = (level: string, msg: string, fields?: Record<string, unknown>) => {
    const time = new Date().toISOString().slice(11, 19);
    const extra = Object.entries({ ...base, ...fields })
      .filter(([, v]) => v !== undefined && v !== null)
      .map(([k, v]) => `${k}=${textValue(v)}`)
      .join(' ');
    return `${time} ${level.padEnd(5)} ${msg}${extra ? `  ${extra}` : ''}`;
  };
  return {
    info: (m, f) => console.log(line('info', m, f)),
    warn: (m, f) => console.warn(line('warn', m, f)),
    error: (m, f) => console.error(line('error', m, f)),
  };
}
