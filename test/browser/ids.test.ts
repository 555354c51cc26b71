import { expect } from '@open-wc/testing';
import { createIdStore, sessionKey } from '../../src/client/ids.ts';
import { LIMITS } from '../../src/protocol.ts';

const KEY_A = 'mac_aaaaaaaaaaaaaaaaaaaaaaaa';
const KEY_B = 'mac_bbbbbbbbbbbbbbbbbbbbbbbb';

/** A Storage whose every access throws, like Safari private mode or a sandboxed iframe. */
const throwingStorage = new Proxy({} as Storage, {
  get() {
    throw new DOMException('The operation is insecure.', 'SecurityError');
  },
});

/** Reads work but writes fail (quota exceeded). */
function readOnlyStorage(initial: Record<string, string>): Storage {
  const data = new Map(Object.entries(initial));
  return {
    getItem: (k: string) => data.get(k) ?? null,
    setItem: () => {
      throw new DOMException('quota', 'QuotaExceededError');
    },
    removeItem: (k: string) => void data.delete(k),
    clear: () => data.clear(),
    key: () => null,
    get length() {
      return data.size;
    },
  };
}

describe('id store', () => {
  beforeEach(() => localStorage.clear());
  afterEach(() => localStorage.clear());

  it('keeps the same visitor and session ids across page loads', () => {
    const first = createIdStore(localStorage);
    const visitor = first.visitorId();
    const session = first.sessionId(KEY_A);

    const reloaded = createIdStore(localStorage);
    expect(reloaded.visitorId()).to.equal(visitor);
    expect(reloaded.sessionId(KEY_A)).to.equal(session);
    expect(localStorage.getItem('mistral-agent-chat:visitor')).to.equal(visitor);
    expect(localStorage.getItem('mistral-agent-chat:session:mac_aaaaaaaa')).to.equal(session);
  });

  it('uses localStorage by default', () => {
    const visitor = createIdStore().visitorId();
    expect(localStorage.getItem('mistral-agent-chat:visitor')).to.equal(visitor);
  });

  it('makes ids the proxy accepts', () => {
    const ids = createIdStore(null);
    for (const id of [ids.visitorId(), ids.sessionId(KEY_A), ids.newSession(KEY_A)]) {
      expect(id).to.match(LIMITS.idPattern);
    }
  });

  it('keeps one conversation per agent key and stores only the key prefix', () => {
    const ids = createIdStore(localStorage);
    expect(ids.sessionId(KEY_A)).to.not.equal(ids.sessionId(KEY_B));
    expect(sessionKey(KEY_A)).to.equal('mistral-agent-chat:session:mac_aaaaaaaa');
    const stored = Object.keys(localStorage).join(' ');
    expect(stored).to.not.contain(KEY_A);
  });

  it('starts a new conversation that survives a reload', () => {
    const ids = createIdStore(localStorage);
    const old = ids.sessionId(KEY_A);
    const visitor = ids.visitorId();
    const fresh = ids.newSession(KEY_A);
    expect(fresh).to.not.equal(old);
    expect(ids.sessionId(KEY_A)).to.equal(fresh);
    expect(createIdStore(localStorage).sessionId(KEY_A)).to.equal(fresh);
    expect(ids.visitorId()).to.equal(visitor);
  });

  it('keeps working in memory when storage throws on every access', () => {
    const ids = createIdStore(throwingStorage);
    const visitor = ids.visitorId();
    const session = ids.sessionId(KEY_A);
    expect(visitor).to.match(LIMITS.idPattern);
    expect(ids.visitorId()).to.equal(visitor);
    expect(ids.sessionId(KEY_A)).to.equal(session);
    const fresh = ids.newSession(KEY_A);
    expect(fresh).to.not.equal(session);
    expect(ids.sessionId(KEY_A)).to.equal(fresh);
  });

  it('keeps working when even reading window.localStorage throws', () => {
    const descriptor = Object.getOwnPropertyDescriptor(window, 'localStorage');
    Object.defineProperty(window, 'localStorage', {
      configurable: true,
      get() {
        throw new DOMException('denied', 'SecurityError');
      },
    });
    try {
      const ids = createIdStore();
      const session = ids.sessionId(KEY_A);
      expect(session).to.match(LIMITS.idPattern);
      expect(ids.sessionId(KEY_A)).to.equal(session);
    } finally {
      if (descriptor) Object.defineProperty(window, 'localStorage', descriptor);
      else delete (window as { localStorage?: Storage }).localStorage;
    }
    expect(() => window.localStorage.length).to.not.throw();
  });

  it('does not fall back to a stale stored session when saving the new one fails', () => {
    const old = 'old_session_1234';
    const ids = createIdStore(readOnlyStorage({ [sessionKey(KEY_A)]: old }));
    expect(ids.sessionId(KEY_A)).to.equal(old);
    const fresh = ids.newSession(KEY_A);
    expect(ids.sessionId(KEY_A)).to.equal(fresh);
  });

  it('replaces a tampered stored id the proxy would reject', () => {
    localStorage.setItem('mistral-agent-chat:visitor', '<script>');
    const visitor = createIdStore(localStorage).visitorId();
    expect(visitor).to.match(LIMITS.idPattern);
    expect(localStorage.getItem('mistral-agent-chat:visitor')).to.equal(visitor);
  });
});
