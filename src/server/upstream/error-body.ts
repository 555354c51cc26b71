/** Mistral's error bodies vary (shared/reference/mistral-wire.md §Errors): read them defensively, for logs only. */
import { isRecord } from './stream-reader.ts';

/** A short, log-friendly description of any of Mistral's error body shapes. */
export function summarizeErrorBody(text: string): string {
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch {
    return text.replace(/\s+/g, ' ').trim().slice(0, 200);
  }
  if (!isRecord(obj)) return String(obj).slice(0, 200);
  const parts: string[] = [];
  const describe = (v: unknown) => {
    if (typeof v === 'string') parts.push(v);
    else if (Array.isArray(v)) {
      for (const d of v) {
        if (isRecord(d)) parts.push([Array.isArray(d.loc) ? d.loc.join('.') : '', d.msg ?? d.type ?? ''].filter(Boolean).join(': '));
      }
    } else if (isRecord(v)) describe(v.detail ?? v.message);
  };
  describe(obj.message);
  describe(obj.detail);
  if (isRecord(obj.error)) describe(obj.error.message); // a guardrail block: {"error":{"message","status":403},…}
  for (const key of ['type', 'code', 'request_id'] as const) {
    if (typeof obj[key] === 'string') parts.push(`${key}=${obj[key] as string}`);
  }
  return parts.join('; ').slice(0, 300);
}
