import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { initialState, reduce, type Action, type ChatState } from '../../src/element/chat-state.ts';

const run = (...actions: Action[]): ChatState => actions.reduce(reduce, initialState);
const A = { id: '1', title: 'Handbook', url: 'https://docs.example/h' };
const B = { id: '2', title: 'Policy.pdf' };

describe('chat state: sources and tool activity', () => {
  it('attaches sources to the reply being written and keeps them when it is done', () => {
    const s = run(
      { type: 'send', id: 'u1', text: 'Hi' },
      { type: 'delta', text: 'Per the handbook' },
      { type: 'sources', sources: [A] },
      { type: 'delta', text: ', and the policy.' },
      { type: 'sources', sources: [B] },
      { type: 'done', id: 'a1' },
    );
    assert.deepEqual(s.messages.at(-1), { id: 'a1', role: 'assistant', text: 'Per the handbook, and the policy.', sources: [A, B] });
  });

  it('holds sources cited before the first words until the reply exists', () => {
    const waiting = run({ type: 'send', id: 'u1', text: 'Hi' }, { type: 'sources', sources: [A] });
    assert.equal(waiting.phase, 'waiting', 'the typing indicator stays');
    assert.equal(waiting.messages.length, 1);
    const s = reduce(waiting, { type: 'delta', text: 'Text' });
    assert.deepEqual(s.messages.at(-1)?.sources, [A]);
    assert.deepEqual(s.pending, []);
    const empty = run({ type: 'send', id: 'u1', text: 'Hi' }, { type: 'sources', sources: [B] }, { type: 'done', id: 'a1' });
    assert.deepEqual(empty.messages.at(-1), { id: 'a1', role: 'assistant', text: '', sources: [B] });
  });

  it('lists each source id once: a repeated id keeps the first entry', () => {
    const s = run(
      { type: 'send', id: 'u1', text: 'Hi' },
      { type: 'delta', text: 'x' },
      { type: 'sources', sources: [A, B] },
      { type: 'sources', sources: [{ id: '1', title: 'Handbook v2' }] },
    );
    assert.deepEqual(s.messages.at(-1)?.sources, [A, B]);
  });

  it('keeps the sources of a stopped reply', () => {
    const s = run({ type: 'send', id: 'u1', text: 'Hi' }, { type: 'delta', text: 'x' }, { type: 'sources', sources: [A] }, { type: 'stopped' });
    assert.deepEqual(s.messages.at(-1)?.sources, [A]);
    assert.equal(s.messages.at(-1)?.status, 'stopped');
  });

  it('restores sources from the stored history, and none where there are none', () => {
    const s = run({ type: 'history' }, {
      type: 'loaded',
      messages: [
        { id: 'u', role: 'user', content: 'Q', created_at: '2025-01-01T00:00:00Z' },
        { id: 'a', role: 'assistant', content: 'R', created_at: '2025-01-01T00:00:01Z', sources: [A] },
        { id: 'b', role: 'assistant', content: 'S', created_at: '2025-01-01T00:00:02Z', sources: [] },
      ],
    });
    assert.deepEqual(s.messages.map((m) => m.sources), [undefined, [A], undefined]);
  });

  it('shows which tool runs until the reply ends, and forgets it on the next turn', () => {
    let s = run({ type: 'send', id: 'u1', text: 'Hi' }, { type: 'activity', tool: 'document_library' });
    assert.equal(s.activity, 'document_library');
    s = reduce(s, { type: 'activity', tool: null });
    assert.equal(s.activity, null);
    s = run({ type: 'send', id: 'u1', text: 'Hi' }, { type: 'activity', tool: 'web_search' }, { type: 'done', id: 'a' });
    assert.equal(s.activity, null);
    s = run({ type: 'send', id: 'u1', text: 'Hi' }, { type: 'activity', tool: 'web_search' }, { type: 'fail', error: { code: 'network', retry: 'send' } });
    assert.equal(s.activity, null);
  });
});
