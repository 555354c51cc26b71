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

  it('gives a reply stopped through the proxy its stored id, so it can be rated', () => {
    const s = run({ type: 'send', id: 'u1', text: 'Hi' }, { type: 'delta', text: 'Part' }, { type: 'stopped', id: 'a9' });
    assert.deepEqual(s.messages.at(-1), { id: 'a9', role: 'assistant', text: 'Part', status: 'stopped' });
  });

  it('restores stopped marks and ratings from history, and waits for a reply produced elsewhere', () => {
    const s = run(
      { type: 'history' },
      {
        type: 'loaded',
        pending: true,
        messages: [
          { id: 'u1', role: 'user', content: 'Hi', created_at: 't' },
          { id: 'a1', role: 'assistant', content: 'Part', created_at: 't', stopped: true, feedback: 'down' },
          { id: 'u2', role: 'user', content: 'Again?', created_at: 't' },
        ],
      },
    );
    assert.deepEqual(texts(s), ['user:Hi', 'assistant:Part(stopped)', 'user:Again?']);
    assert.equal(s.messages[1]!.feedback, 'down');
    assert.equal(s.coming, true);
    assert.equal(s.phase, 'waiting', 'busy: one reply at a time');
    const synced = reduce(s, { type: 'synced', pending: false, messages: [{ id: 'u2', role: 'user', content: 'Again?', created_at: 't' }, { id: 'a2', role: 'assistant', content: 'Yes', created_at: 't' }] });
    assert.equal(synced.coming, false);
    assert.equal(synced.phase, 'idle');
    assert.deepEqual(texts(synced), ['user:Again?', 'assistant:Yes'], 'the stored history replaces the list');
  });

  it('sets, changes and clears a rating on one message only, leaving the others as they were', () => {
    const s = run(
      { type: 'loaded', messages: [{ id: 'a1', role: 'assistant', content: 'A', created_at: 't' }, { id: 'a2', role: 'assistant', content: 'B', created_at: 't' }] },
      { type: 'feedback', id: 'a2', rating: 'up' },
    );
    const other = s.messages[0];
    assert.equal(s.messages[1]!.feedback, 'up');
    const down = reduce(s, { type: 'feedback', id: 'a2', rating: 'down' });
    assert.equal(down.messages[1]!.feedback, 'down');
    assert.equal(down.messages[0], other, 'the other message is the same object (its rendering is cached)');
    const cleared = reduce(down, { type: 'feedback', id: 'a2', rating: null });
    assert.equal('feedback' in cleared.messages[1]!, false);
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
