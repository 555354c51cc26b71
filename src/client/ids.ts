/**
 * Visitor and session ids, kept in localStorage so a reload continues the same conversation.
 * visitor_id: one per browser and site. session_id: one per agent key (two widgets with different
 * keys on one site keep separate conversations). Storage can be missing or throw on every access
 * (Safari private mode, sandboxed iframes, blocked cookies): then ids live in memory for the page's life.
 */
import { LIMITS } from '../protocol.ts';

const PREFIX = 'mistral-agent-chat:';
const VISITOR_KEY = `${PREFIX}visitor`;

export interface IdStore {
  visitorId(): string;
  sessionId(apiKey: string): string;
  /** Forgets the current session of this key and starts a new one (a "new conversation" button). */
  newSession(apiKey: string): string;
  /** Continues an existing session of this key (a conversation reopened from the switcher). */
  setSession(apiKey: string, sessionId: string): string;
  /**
   * Whether a reply of this key's session was on its way when the page was left (a link clicked mid-reply):
   * `on` sets or clears it; the next page then looks for the reply even with its panel closed.
   */
  inFlight(apiKey: string, on?: boolean): boolean;
}

/** Storage key of an agent's session: only the key's public prefix, never the whole key. */
export function sessionKey(apiKey: string): string {
  return `${PREFIX}session:${apiKey.slice(0, 12)}`;
}

/** 32 hex chars from crypto.getRandomValues (randomUUID needs a secure context; plain-http pages lack it). */
export function newId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** `undefined` means "use globalThis.localStorage if it can be reached", `null` means memory only. */
export function createIdStore(storage?: Storage | null): IdStore {
  const store = storage === undefined ? defaultStorage() : storage;
  const memory = new Map<string, string>();
  // Keys whose last write did not reach storage: a stale stored value must not win over memory.
  const unsaved = new Set<string>();

  const read = (key: string): string | null => {
    if (unsaved.has(key)) return memory.get(key) ?? null;
    let value: string | null = null;
    try {
      value = store?.getItem(key) ?? null;
    } catch {
      // Unreadable storage: memory is the only truth.
    }
    if (value !== null && LIMITS.idPattern.test(value)) return value;
    return memory.get(key) ?? null;
  };
  const write = (key: string, value: string): string => {
    memory.set(key, value);
    try {
      store?.setItem(key, value);
      unsaved.delete(key);
    } catch {
      // Quota exceeded or blocked: memory keeps the id for this page.
      unsaved.add(key);
    }
    return value;
  };
  const get = (key: string): string => read(key) ?? write(key, newId());
  const flightKey = (apiKey: string) => `${PREFIX}flight:${apiKey.slice(0, 12)}`;

  return {
    visitorId: () => get(VISITOR_KEY),
    sessionId: (apiKey) => get(sessionKey(apiKey)),
    newSession: (apiKey) => write(sessionKey(apiKey), newId()),
    setSession: (apiKey, id) => write(sessionKey(apiKey), id),
    inFlight(apiKey, on) {
      const key = flightKey(apiKey);
      const session = get(sessionKey(apiKey));
      if (on) write(key, session);
      else if (on === false) {
        memory.delete(key);
        unsaved.add(key);
        try {
          store?.removeItem(key);
          unsaved.delete(key);
        } catch {
          // memory already says "none"
        }
      }
      return read(key) === session;
    },
  };
}

function defaultStorage(): Storage | null {
  try {
    // Even reading the property throws in some sandboxed iframes.
    return globalThis.localStorage ?? null;
  } catch {
    return null;
  }
}
