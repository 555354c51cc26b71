/**
 * Wave 2 of the element, against the protocol double: the signed-in visitor (`user-token`, the switcher,
 * refusals), feedback, a reply produced elsewhere (pending history), Stop marked after a reload, two
 * elements of one conversation in sync (BroadcastChannel), the unread badge; axe and French on those states.
 */
import { expect, fixture, html, waitUntil } from '@open-wc/testing';
import '../../src/define.ts';
import type { MistralAgentChat } from '../../src/index.ts';
import type { StoredMessage } from '../../src/protocol.ts';
import { ENDPOINT, FakeProxy, KEY, errorBody, frames, once } from './fake-proxy.ts';

const TOKEN = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyXzEiLCJleHAiOjQxMDI0NDQ4MDB9.c2lnbmF0dXJl';

const $ = <T extends Element = HTMLElement>(el: MistralAgentChat, sel: string) => el.shadowRoot!.querySelector<T>(sel);
const all = (el: MistralAgentChat, sel: string) => [...el.shadowRoot!.querySelectorAll<HTMLElement>(sel)];
const bodies = (el: MistralAgentChat) => all(el, '[part~=message]:not([part~=welcome], [part~=typing]) [part~=bubble]').map((b) => b.textContent!.trim());
const settled = async (el: MistralAgentChat) => {
  await el.updateComplete;
  await Promise.all(el.shadowRoot!.getAnimations().filter((a) => a.effect?.getTiming().iterations !== Infinity).map((a) => a.finished));
};

async function inline(opts: { token?: string; lang?: string; ready?: string } = {}) {
  const d = await fixture<HTMLElement>(
    html`<div style="height:560px"><mistral-agent-chat mode="inline" api-key=${KEY} endpoint=${ENDPOINT}
      user-token=${opts.token ?? ''} lang=${opts.lang ?? 'en'}></mistral-agent-chat></div>`,
  );
  const el = d.firstElementChild as MistralAgentChat;
  await waitUntil(() => $(el, opts.ready ?? '[part~=messages][aria-busy=false]'), 'history loaded');
  return el;
}

function type(el: MistralAgentChat, text: string) {
  const input = $<HTMLTextAreaElement>(el, '[part~=input]')!;
  input.value = text;
  input.dispatchEvent(new Event('input'));
  input.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true, composed: true, cancelable: true }));
}

const msg = (id: string, role: 'user' | 'assistant', content: string, extra: Partial<StoredMessage> = {}): StoredMessage => ({
  id,
  role,
  content,
  created_at: '2026-12-06T10:00:00Z',
  ...extra,
});

describe('<mistral-agent-chat> signed-in visitor', () => {
  let proxy: FakeProxy;
  beforeEach(() => {
    localStorage.clear();
    proxy = new FakeProxy();
  });
  afterEach(() => proxy.restore());

  it('sends user-token as X-User-Token on every call, and none without it', async () => {
    const el = await inline({ token: TOKEN });
    const next = proxy.nextReply();
    type(el, 'hello');
    (await next).reply('Hi!');
    await waitUntil(() => $(el, '[part~=feedback-up]'), 'reply done');
    $<HTMLButtonElement>(el, '[part~=feedback-up]')!.click();
    await waitUntil(() => proxy.callsTo(/feedback$/).length === 1);
    expect(proxy.calls.map((c) => c.url.pathname)).to.include.members(['/v1/agent', '/v1/chat']);
    for (const c of proxy.calls) expect(c.headers.get('X-User-Token'), c.url.pathname).to.equal(TOKEN);

    proxy.calls = [];
    localStorage.clear();
    const anonymous = await inline();
    expect(proxy.calls.length).to.be.greaterThan(0);
    for (const c of proxy.calls) expect(c.headers.has('X-User-Token')).to.equal(false);
    expect($(anonymous, '[part~=conversations-button]'), 'no switcher without a token').to.equal(null);
  });

  it("lists the user's conversations in the header and reopens one: its history, its session id", async () => {
    proxy.conversations = [
      { session_id: 'sess_older_0001', title: 'Where is my order?', updated_at: '2026-12-05T09:00:00Z' },
      { session_id: 'sess_other_0002', title: 'Return a <b>jacket</b>', updated_at: '2026-12-01T09:00:00Z' },
    ];
    const el = await inline({ token: TOKEN });
    const toggle = $<HTMLButtonElement>(el, '[part~=conversations-button]')!;
    expect(toggle.getAttribute('aria-label')).to.equal('Your conversations');
    expect(toggle.getAttribute('aria-expanded')).to.equal('false');
    toggle.click();
    await waitUntil(() => all(el, '[part~=conversation]').length === 2, 'list shown');
    expect(toggle.getAttribute('aria-expanded')).to.equal('true');
    const listCall = proxy.callsTo(/^\/v1\/conversations$/)[0]!;
    expect(listCall.headers.get('X-User-Token')).to.equal(TOKEN);
    const items = all(el, '[part~=conversation]');
    expect(items[0]!.textContent).to.contain('Where is my order?');
    expect(items[1]!.textContent).to.contain('Return a <b>jacket</b>', 'a title is text, never HTML');
    await expect(el).to.be.accessible();

    proxy.onHistory = (call) =>
      new Response(
        JSON.stringify({
          messages: call.url.pathname.includes('sess_other_0002')
            ? [msg('u1', 'user', 'Return a jacket'), msg('a1', 'assistant', 'Sure, here is how.', { feedback: 'up' })]
            : [],
          pending: false,
        }),
        { headers: { 'content-type': 'application/json' } },
      );
    items[1]!.click();
    await waitUntil(() => bodies(el).length === 2, 'reopened conversation shown');
    expect(bodies(el)).to.deep.equal(['Return a jacket', 'Sure, here is how.']);
    expect($(el, '[part~=conversations]'), 'the list closes').to.equal(null);
    expect($(el, '[part~=feedback-up]')!.getAttribute('aria-pressed')).to.equal('true', 'rating restored from history');
    // The next message continues that conversation.
    const next = proxy.nextReply();
    type(el, 'and the label?');
    expect((await next).body.session_id).to.equal('sess_other_0002');
    // Marked as the current one when the list opens again.
    $<HTMLButtonElement>(el, '[part~=conversations-button]')!.click();
    await waitUntil(() => all(el, '[part~=conversation]').length === 2);
    expect(all(el, '[part~=conversation]').map((b) => b.getAttribute('aria-current'))).to.deep.equal([null, 'true']);
  });

  it('says so when the user has no conversation yet, and closes the list on Escape', async () => {
    const el = await inline({ token: TOKEN });
    $<HTMLButtonElement>(el, '[part~=conversations-button]')!.click();
    await waitUntil(() => $(el, '[part~=conversations]')?.textContent?.includes('No conversations yet.'));
    $(el, '[part~=input]')!.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true, composed: true }));
    await el.updateComplete;
    expect($(el, '[part~=conversations]')).to.equal(null);
  });

  for (const [code, text] of [
    ['invalid_user_token', /sign-in for this chat has expired/],
    ['identity_required', /sign in to chat with this assistant/],
  ] as const) {
    it(`refuses calmly on 401 ${code}: a clear message, an error event, no Retry, composer disabled; a new token tries again`, async () => {
      const orig = console.error;
      const logged: unknown[][] = [];
      console.error = (...a: unknown[]) => void logged.push(a);
      try {
        proxy.onHistory = () => errorBody(401, code);
        const failed = new Promise<Event & { code?: string }>((r) => document.addEventListener('mistral-chat-error', r, { once: true }));
        const d = await fixture<HTMLElement>(
          html`<div style="height:500px"><mistral-agent-chat mode="inline" api-key=${KEY} endpoint=${ENDPOINT} user-token=${code === 'invalid_user_token' ? 'expired' : ''}></mistral-agent-chat></div>`,
        );
        const el = d.firstElementChild as MistralAgentChat;
        expect((await failed).code).to.equal(code);
        await waitUntil(() => $(el, '[part~=error]'));
        expect($(el, '[part~=error]')!.textContent).to.match(text);
        expect($(el, '[part~=retry]')).to.equal(null);
        expect($<HTMLTextAreaElement>(el, '[part~=input]')!.disabled).to.equal(true);
        expect(logged.length).to.equal(1, 'one line for the site owner');
        await expect(el).to.be.accessible();

        proxy.onHistory = undefined;
        el.userToken = TOKEN;
        await waitUntil(() => !$(el, '[part~=error]'), 'loaded with the new token');
        expect($<HTMLTextAreaElement>(el, '[part~=input]')!.disabled).to.equal(false);
      } finally {
        console.error = orig;
      }
    });
  }

  it('another user signing in (or the visitor signing out) loads the conversation again: not theirs, so a new one', async () => {
    const jwt = (sub: string, exp: number) => `e30.${btoa(JSON.stringify({ sub, exp })).replace(/=+$/, '')}.sig`;
    proxy.history = [msg('u1', 'user', 'my private question'), msg('a1', 'assistant', 'my private answer')];
    const el = await inline({ token: jwt('alice', 1) });
    await waitUntil(() => bodies(el).length === 2);
    const session = proxy.callsTo(/messages$/)[0]!.url.pathname;
    const loads = () => proxy.callsTo(/messages$/).length;
    // A refreshed token of the same user changes nothing.
    el.userToken = jwt('alice', 2);
    await el.updateComplete;
    await new Promise((r) => setTimeout(r, 50));
    expect(loads()).to.equal(1);
    expect(bodies(el)).to.have.length(2);
    // Bob on the same computer: the proxy answers 404 for Alice's conversation; a new one starts, empty.
    proxy.onHistory = (call) =>
      call.url.pathname === session ? errorBody(404, 'not_found') : new Response('{"messages":[],"pending":false}', { headers: { 'content-type': 'application/json' } });
    el.userToken = jwt('bob', 1);
    await waitUntil(() => loads() === 3, 'loaded again, then a new session');
    await waitUntil(() => bodies(el).length === 0, 'nothing of Alice shows');
    expect(proxy.callsTo(/messages$/)[1]!.headers.get('X-User-Token')).to.equal(jwt('bob', 1));
    expect(proxy.callsTo(/messages$/)[2]!.url.pathname).to.not.equal(session);
  });

  it('starts a new conversation when the stored one belongs to another user (404): nothing of it shows', async () => {
    localStorage.setItem(`mistral-agent-chat:session:${KEY.slice(0, 12)}`, 'sess_of_someone_else');
    proxy.onHistory = (call) =>
      call.url.pathname.includes('sess_of_someone_else') ? errorBody(404, 'not_found') : new Response('{"messages":[]}', { headers: { 'content-type': 'application/json' } });
    const el = await inline();
    expect($(el, '[part~=error]')).to.equal(null);
    const next = proxy.nextReply();
    type(el, 'hi');
    expect((await next).body.session_id).to.not.equal('sess_of_someone_else');
  });
});

describe('<mistral-agent-chat> feedback', () => {
  let proxy: FakeProxy;
  beforeEach(() => {
    localStorage.clear();
    proxy = new FakeProxy();
  });
  afterEach(() => proxy.restore());

  it('rates a finished reply: thumbs after done (not while streaming), POST body, event, pressed again clears', async () => {
    const el = await inline();
    const next = proxy.nextReply();
    type(el, 'hi');
    const reply = await next;
    reply.start();
    reply.delta('Hello');
    await frames();
    expect($(el, '[part~=feedback]'), 'no thumbs while streaming').to.equal(null);
    reply.done('msg_r1');
    await waitUntil(() => $(el, '[part~=feedback]'));
    const up = $<HTMLButtonElement>(el, '[part~=feedback-up]')!;
    const down = $<HTMLButtonElement>(el, '[part~=feedback-down]')!;
    expect([up.getAttribute('aria-label'), down.getAttribute('aria-label')]).to.deep.equal(['Helpful', 'Not helpful']);
    expect([up.getAttribute('aria-pressed'), down.getAttribute('aria-pressed')]).to.deep.equal(['false', 'false']);

    let rated = once(el, 'mistral-chat-feedback');
    up.click();
    let ev = await rated;
    expect([ev.message_id, ev.rating, ev.comment]).to.deep.equal(['msg_r1', 'up', undefined]);
    expect(ev.detail).to.deep.equal({ message_id: 'msg_r1', rating: 'up' });
    expect(ev.bubbles && ev.composed).to.equal(true);
    const [call] = proxy.callsTo(/feedback$/);
    expect(call!.method).to.equal('POST');
    expect(call!.url.pathname).to.equal('/v1/messages/msg_r1/feedback');
    expect(JSON.parse(call!.body!)).to.deep.equal({ session_id: reply.body.session_id, rating: 'up' });
    await el.updateComplete;
    expect($(el, '[part~=feedback-up]')!.getAttribute('aria-pressed')).to.equal('true');

    rated = once(el, 'mistral-chat-feedback');
    $<HTMLButtonElement>(el, '[part~=feedback-up]')!.click();
    ev = await rated;
    expect(ev.rating).to.equal(null);
    expect(JSON.parse(proxy.callsTo(/feedback$/)[1]!.body!)).to.deep.equal({ session_id: reply.body.session_id, rating: null });
    await el.updateComplete;
    expect($(el, '[part~=feedback-up]')!.getAttribute('aria-pressed')).to.equal('false');
  });

  it('a thumbs-down opens a light comment field; the comment is sent with the rating and thanked', async () => {
    proxy.history = [msg('u1', 'user', 'hi'), msg('a1', 'assistant', 'Hello')];
    const el = await inline();
    await waitUntil(() => $(el, '[part~=feedback-down]'));
    $<HTMLButtonElement>(el, '[part~=feedback-down]')!.click();
    await waitUntil(() => $(el, '[part~=feedback-comment]'));
    expect(JSON.parse(proxy.callsTo(/feedback$/)[0]!.body!)).to.deep.equal({ session_id: JSON.parse('"' + proxy.callsTo(/messages$/)[0]!.url.pathname.split('/')[3] + '"'), rating: 'down' });
    const field = $<HTMLTextAreaElement>(el, '[part~=feedback-comment]')!;
    expect(field.getAttribute('aria-label')).to.equal('What was wrong? (optional)');
    expect(field.maxLength).to.equal(1000);
    await expect(el).to.be.accessible();
    field.value = 'It did not answer my question';
    const rated = once(el, 'mistral-chat-feedback');
    $<HTMLButtonElement>(el, '[part~=feedback-send]')!.click();
    const ev = await rated;
    expect([ev.rating, ev.comment]).to.deep.equal(['down', 'It did not answer my question']);
    expect(JSON.parse(proxy.callsTo(/feedback$/)[1]!.body!)).to.include({ rating: 'down', comment: 'It did not answer my question' });
    await waitUntil(() => $(el, '[part~=feedback] [part~=note]'));
    expect($(el, '[part~=feedback] [part~=note]')!.textContent).to.equal('Thank you for your feedback.');
    expect($(el, '[part~=feedback-comment]')).to.equal(null);
  });

  it('restores ratings from history, and puts a rating back when it could not be stored', async () => {
    proxy.history = [msg('u1', 'user', 'hi'), msg('a1', 'assistant', 'Hello', { feedback: 'down' }), msg('u2', 'user', 'and?'), msg('a2', 'assistant', 'More')];
    const el = await inline();
    await waitUntil(() => all(el, '[part~=feedback]').length === 2);
    expect(all(el, '[part~=feedback-down]').map((b) => b.getAttribute('aria-pressed'))).to.deep.equal(['true', 'false']);
    expect(all(el, '[part~=feedback-up]').map((b) => b.getAttribute('aria-pressed'))).to.deep.equal(['false', 'false']);
    proxy.onFeedback = () => errorBody(404, 'not_found');
    const failed = once(el, 'mistral-chat-error');
    all(el, '[part~=feedback-up]')[1]!.click();
    expect((await failed).code).to.equal('not_found');
    await el.updateComplete;
    expect(all(el, '[part~=feedback-up]')[1]!.getAttribute('aria-pressed')).to.equal('false');
  });
});

describe('<mistral-agent-chat> continuity', () => {
  let proxy: FakeProxy;
  beforeEach(() => {
    localStorage.clear();
    proxy = new FakeProxy();
  });
  afterEach(() => proxy.restore());

  it('says the answer is coming under an unanswered question, polls, then shows the stored reply', async () => {
    proxy.history = [msg('u1', 'user', 'What are your opening hours?')];
    proxy.pending = true;
    const el = await inline({ ready: '[part~=coming]' });
    expect($(el, '[part~=coming]')!.textContent).to.equal('The answer is on its way…');
    expect($(el, '[part~=coming]')!.getAttribute('role')).to.equal('status');
    expect($(el, '[part~=stop]'), 'busy: one reply at a time').to.not.equal(null);
    await expect(el).to.be.accessible();
    const loads = proxy.callsTo(/messages$/).length;
    proxy.history = [...proxy.history, msg('a1', 'assistant', 'We are open **9 to 6**.')];
    proxy.pending = false;
    await waitUntil(() => bodies(el).length === 2, 'reply shown', { timeout: 4000 });
    expect(proxy.callsTo(/messages$/).length).to.equal(loads + 1, 'polled once, 1.5 s later');
    expect($(el, '[part~=message-assistant] strong')!.textContent).to.equal('9 to 6');
    expect($(el, '[part~=coming]')).to.equal(null);
    expect($(el, '[part~=send]')).to.not.equal(null);
  });

  it('marks a stopped reply again after a reload', async () => {
    proxy.history = [msg('u1', 'user', 'tell me a story'), msg('a1', 'assistant', 'Once upon a time, see [the docs](http', { stopped: true })];
    const el = await inline();
    await waitUntil(() => $(el, '[part~=note]'));
    expect($(el, '[part~=note]')!.textContent).to.equal('Stopped.');
    expect($(el, '[part~=markdown]')!.textContent!.trim()).to.equal('Once upon a time, see [the docs](http');
  });

  it('Stop before the first words waits for the turn to start, then asks the proxy', async () => {
    const el = await inline();
    const next = proxy.nextReply();
    type(el, 'tell me a story');
    const reply = await next;
    await el.updateComplete;
    $<HTMLButtonElement>(el, '[part~=stop]')!.click();
    await new Promise((r) => setTimeout(r, 50));
    expect(proxy.callsTo(/\/stop$/)).to.have.length(0);
    reply.start();
    await waitUntil(() => proxy.callsTo(/\/stop$/).length === 1, 'stop sent once the turn started');
    reply.stopped('msg_s');
    await waitUntil(() => $(el, '[part~=send]'));
    expect(reply.signal?.aborted).to.equal(false);
  });

  it('answers 409 reply_in_progress with a calm message', async () => {
    const el = await inline();
    proxy.chatAnswers.push(errorBody(409, 'reply_in_progress'));
    type(el, 'hi');
    await waitUntil(() => $(el, '[part~=error]'));
    expect($(el, '[part~=error]')!.textContent).to.contain('A reply is already on its way.');
  });
});

describe('<mistral-agent-chat> tabs and unread', () => {
  let proxy: FakeProxy;
  beforeEach(() => {
    localStorage.clear();
    proxy = new FakeProxy();
  });
  afterEach(() => proxy.restore());

  it('two elements of one conversation stay in sync: the message and the streamed reply show in both, B is busy meanwhile', async () => {
    const d = await fixture<HTMLElement>(
      html`<div style="display:flex;height:500px">
        <mistral-agent-chat mode="inline" api-key=${KEY} endpoint=${ENDPOINT}></mistral-agent-chat>
        <mistral-agent-chat mode="inline" api-key=${KEY} endpoint=${ENDPOINT}></mistral-agent-chat>
      </div>`,
    );
    const [a, b] = [...d.children] as MistralAgentChat[];
    await waitUntil(() => $(a!, '[aria-busy=false]') && $(b!, '[aria-busy=false]'), 'both loaded');
    const next = proxy.nextReply();
    type(a!, 'hello from A');
    const reply = await next;
    await waitUntil(() => bodies(b!).join() === 'hello from A', 'the message shows in B');
    expect($(b!, '[part~=stop]'), 'B is busy while A streams').to.not.equal(null);
    reply.start();
    reply.delta('Hi ');
    await waitUntil(() => bodies(b!)[1] === 'Hi', 'B streams too');
    reply.delta('**there**');
    reply.done('msg_ab');
    await waitUntil(() => $(b!, '[part~=feedback]') && $(a!, '[part~=feedback]'), 'done in both');
    expect(bodies(b!)).to.deep.equal(bodies(a!));
    expect($(b!, '[part~=message-assistant] strong')!.textContent).to.equal('there');
    expect(proxy.chatCalls).to.have.length(1, 'only A talks to the proxy');
    expect($(b!, '[part~=send]')).to.not.equal(null);

    // B's Stop during A's next reply asks the proxy; A reads on to the end and both mark it.
    const second = proxy.nextReply();
    type(a!, 'again');
    const r2 = await second;
    r2.start();
    r2.delta('Partial');
    await waitUntil(() => bodies(b!)[3] === 'Partial');
    $<HTMLButtonElement>(b!, '[part~=stop]')!.click();
    await waitUntil(() => proxy.callsTo(/\/stop$/).length === 1);
    r2.stopped('msg_ab2');
    await waitUntil(() => $(a!, '[part~=note]') && $(b!, '[part~=note]'), 'both marked stopped');
  });

  it('counts a reply that finished while the panel was closed on the launcher, says it politely, clears on open', async () => {
    const el = await fixture<MistralAgentChat>(html`<mistral-agent-chat api-key=${KEY} endpoint=${ENDPOINT}></mistral-agent-chat>`);
    el.open();
    await el.updateComplete;
    const next = proxy.nextReply();
    type(el, 'hi');
    const reply = await next;
    reply.start();
    reply.delta('Hello');
    el.close();
    await el.updateComplete;
    expect($(el, '[part~=unread-badge]')).to.equal(null);
    reply.done();
    await waitUntil(() => $(el, '[part~=unread-badge]'), 'badge');
    expect($(el, '[part~=unread-badge]')!.textContent).to.equal('1');
    expect($(el, '[part~=launcher]')!.getAttribute('aria-label')).to.equal('Open chat (1 unread)');
    const live = $(el, '.sr[role=status]')!;
    expect(live.textContent).to.equal('New reply in the chat');
    expect(getComputedStyle($(el, '[part~=unread-badge]')!).backgroundColor).to.equal('rgb(185, 28, 28)');
    el.style.setProperty('--mistral-chat-badge-bg', 'rgb(0, 0, 255)');
    expect(getComputedStyle($(el, '[part~=unread-badge]')!).backgroundColor).to.equal('rgb(0, 0, 255)');
    el.style.removeProperty('--mistral-chat-badge-bg');
    await expect(el).to.be.accessible();
    el.open();
    await settled(el);
    expect($(el, '[part~=unread-badge]')).to.equal(null);
    expect(live.textContent).to.equal('');
  });

  it('left mid-reply on the page before: looks for the reply with the panel closed, and shows the badge when it is stored', async () => {
    const prefix = KEY.slice(0, 12);
    localStorage.setItem(`mistral-agent-chat:session:${prefix}`, 'sess_left_mid_reply');
    localStorage.setItem(`mistral-agent-chat:flight:${prefix}`, 'sess_left_mid_reply');
    proxy.history = [msg('u1', 'user', 'What are your opening hours?')];
    proxy.pending = true;
    const el = await fixture<MistralAgentChat>(html`<mistral-agent-chat api-key=${KEY} endpoint=${ENDPOINT}></mistral-agent-chat>`);
    await waitUntil(() => proxy.callsTo(/sess_left_mid_reply\/messages$/).length === 1, 'history asked with the panel closed');
    proxy.history = [...proxy.history, msg('a1', 'assistant', 'From 9 to 6.')];
    proxy.pending = false;
    await waitUntil(() => $(el, '[part~=unread-badge]'), 'badge', { timeout: 4000 });
    el.open();
    await waitUntil(() => bodies(el).length === 2);
    expect(bodies(el)).to.deep.equal(['What are your opening hours?', 'From 9 to 6.']);
    expect(localStorage.getItem(`mistral-agent-chat:flight:${prefix}`)).to.equal(null);
  });

  it('does not call the proxy for a closed panel when no reply was left on its way', async () => {
    await fixture<MistralAgentChat>(html`<mistral-agent-chat api-key=${KEY} endpoint=${ENDPOINT}></mistral-agent-chat>`);
    await new Promise((r) => setTimeout(r, 50));
    expect(proxy.calls).to.have.length(0);
  });

  it('speaks French in the new states', async () => {
    proxy.history = [msg('u1', 'user', 'Bonjour')];
    proxy.pending = true;
    const el = await inline({ token: TOKEN, lang: 'fr', ready: '[part~=coming]' });
    expect($(el, '[part~=coming]')!.textContent).to.equal('La réponse arrive…');
    expect($(el, '[part~=conversations-button]')!.getAttribute('aria-label')).to.equal('Vos conversations');
    proxy.history = [...proxy.history, msg('a1', 'assistant', 'Salut')];
    proxy.pending = false;
    await waitUntil(() => $(el, '[part~=feedback-down]'), 'reply', { timeout: 4000 });
    expect($(el, '[part~=feedback-up]')!.getAttribute('aria-label')).to.equal('Utile');
    $<HTMLButtonElement>(el, '[part~=feedback-down]')!.click();
    await waitUntil(() => $(el, '[part~=feedback-comment]'));
    expect($(el, '[part~=feedback-comment]')!.getAttribute('aria-label')).to.equal('Qu’est-ce qui n’allait pas ? (facultatif)');
  });
});
