import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { initialState, reduce, type Action, type ChatState } from '../../src/element/chat-state.ts';

const run = (...actions: Action[]): ChatState => actions.reduce(reduce, initialState);
const texts = (s: ChatState) => s.messages.map((m) => `${m.role}:${m.text}${m.status ? `(${m.status})` : ''}`);

describe('chat state', () => {
  it('shows the user message at once and a typing phase until the first words', () => {
    const s = run({ type: 'send', id: 'u1', text: 'Hi' });
    assert.equal(s.phase, 'waiting');
    assert.deepEqual(texts(s), ['user:Hi']);
  });

  it('appends streamed words to one reply and gives it the stored id when done', () => {
    const s = run(
      { type: 'send', id: 'u1', text: 'Hi' },
      { type: 'delta', text: 'Hel' },
      { type: 'delta', text: 'lo' },
    );
    assert.equal(s.phase, 'streaming');
    assert.deepEqual(texts(s), ['user:Hi', 'assistant:Hello(streaming)']);
    const done = reduce(s, { type: 'done', id: 'a1' });
    assert.equal(done.phase, 'idle');
    assert.deepEqual(done.messages.at(-1), { id: 'a1', role: 'assistant', text: 'Hello' });
  });

  it('records an empty reply when done comes without words', () => {
    const s = run({ type: 'send', id: 'u1', text: 'Hi' }, { type: 'done', id: 'a1' });
    assert.deepEqual(texts(s), ['user:Hi', 'assistant:']);
  });

  it('keeps a stopped reply, marked, and is ready for the next message', () => {
    const s = run({ type: 'send', id: 'u1', text: 'Hi' }, { type: 'delta', text: 'Part' }, { type: 'stopped' });
    assert.equal(s.phase, 'idle');
    assert.deepEqual(texts(s), ['user:Hi', 'assistant:Part(stopped)']);
  });

  it('drops the failed turn on retry, leaving earlier messages', () => {
    const s = run(
      { type: 'loaded', messages: [{ id: 'o', role: 'assistant', content: 'Old', created_at: 'x' }] },
      { type: 'send', id: 'u1', text: 'Hi' },
      { type: 'delta', text: 'Par' },
      { type: 'fail', error: { code: 'upstream_error', retry: 'send' } },
    );
    assert.deepEqual(texts(s), ['assistant:Old', 'user:Hi', 'assistant:Par(failed)']);
    assert.equal(s.error?.code, 'upstream_error');
    const r = reduce(s, { type: 'retry' });
    assert.deepEqual(texts(r), ['assistant:Old']);
    assert.equal(r.error, null);
    assert.equal(r.lastText, 'Hi');
  });

  it('puts the stored history before a message sent while it loaded', () => {
    const s = run(
      { type: 'history' },
      { type: 'send', id: 'u1', text: 'Quick' },
      { type: 'loaded', messages: [{ id: 'o', role: 'user', content: 'Before', created_at: 'x' }] },
    );
    assert.deepEqual(texts(s), ['user:Before', 'user:Quick']);
    assert.equal(s.phase, 'waiting');
    assert.equal(s.loaded, true);
  });

  it('keeps a running turn when only the history fails', () => {
    const s = run(
      { type: 'history' },
      { type: 'send', id: 'u1', text: 'Hi' },
      { type: 'fail', error: { code: 'unavailable', retry: 'history' } },
    );
    assert.equal(s.phase, 'waiting');
    assert.equal(s.loading, false);
    assert.equal(s.error?.retry, 'history');
  });

  it('starts over empty on reset', () => {
    const s = run({ type: 'send', id: 'u1', text: 'Hi' }, { type: 'reset', loaded: true });
    assert.deepEqual(s, { ...initialState, loaded: true });
  });
});
