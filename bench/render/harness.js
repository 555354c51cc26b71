// Browser side of the render bench (plain JS, served as is). A fetch stub answers the element's protocol
// calls from memory: `GET /v1/agent`, `GET /v1/sessions/…/messages` (the configured history) and
// `POST /v1/chat` (an SSE Response whose `delta` events are enqueued on a fixed schedule, one
// `performance.mark('chunk')` each, so the trace can split main-thread time per chunk).

const cfg = { chunks: [], intervalMs: 10, history: [], onHistory: null, mark: 'chunk' };
const enc = new TextEncoder();
const sse = (event, data) => enc.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
const json = (body) => new Response(JSON.stringify(body), { headers: { 'content-type': 'application/json' } });

/** Calls `fn(i)` at t0 + i × interval (catching up when late, as a network would deliver a backlog). */
function schedule(n, intervalMs, fn) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    let i = 0;
    const tick = () => {
      const now = performance.now();
      while (i < n && t0 + i * intervalMs <= now) fn(i++);
      if (i >= n) return resolve();
      setTimeout(tick, Math.max(0, t0 + i * intervalMs - performance.now()));
    };
    tick();
  });
}

window.fetch = async (input, init = {}) => {
  const url = new URL(typeof input === 'string' ? input : input.url, location.href);
  if (url.pathname === '/v1/agent') return json({ name: 'Bench agent', role: 'assistant' });
  if (url.pathname.endsWith('/messages')) {
    const res = json({ messages: cfg.history });
    cfg.onHistory?.(performance.now());
    return res;
  }
  if (url.pathname === '/v1/chat' && init.method === 'POST') {
    const { chunks, intervalMs } = cfg;
    const body = new ReadableStream({
      async start(controller) {
        controller.enqueue(sse('start', { conversation_id: 'c', message_id: 'u' }));
        await schedule(chunks.length, intervalMs, (i) => {
          performance.mark(cfg.mark);
          controller.enqueue(sse('delta', { text: chunks[i] }));
        });
        controller.enqueue(sse('done', { message_id: 'a', tokens_used: chunks.length * 2, response_time_ms: 1, finish_reason: 'stop' }));
        controller.close();
      },
    });
    return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
  }
  return new Response('{"error":{"code":"not_found","message":"no route"}}', { status: 404 });
};

const frame = () => new Promise((r) => requestAnimationFrame(() => r()));
/** Resolves after the next frame has been painted. */
const painted = () => frame().then(() => new Promise((r) => setTimeout(r, 0)));

let longTasks = 0;
new PerformanceObserver((list) => (longTasks += list.getEntries().length)).observe({ type: 'longtask' });

const rows = (el) => el.shadowRoot?.querySelectorAll('.message.user, .message.assistant').length ?? 0;

async function until(test, timeoutMs = 30_000) {
  const end = performance.now() + timeoutMs;
  while (!test()) {
    if (performance.now() > end) throw new Error('timed out waiting for the element');
    await frame();
  }
}

/** A new inline element, loaded (agent, history, Markdown chunk). */
async function mount() {
  const el = document.createElement('mistral-agent-chat');
  el.setAttribute('api-key', 'mac_bench');
  el.setAttribute('endpoint', location.origin);
  el.setAttribute('mode', 'inline');
  el.style.cssText = 'display:block;height:700px;width:420px';
  document.body.append(el);
  await customElements.whenDefined('mistral-agent-chat');
  await until(() => el.shadowRoot?.querySelector('.messages') && !el.shadowRoot.querySelector('[aria-busy="true"]'));
  await painted();
  return el;
}

window.bench = {
  /** Streams `chunks` into the real element; returns the long tasks seen meanwhile. */
  async stream(chunks, intervalMs, warmChunks) {
    const el = await mount();
    // Warm-up reply (JIT, the Markdown chunk's first use), then a new conversation for the measured one.
    cfg.chunks = warmChunks;
    cfg.intervalMs = 0;
    cfg.mark = 'warm-up';
    await el.send('Warm up');
    cfg.mark = 'chunk';
    el.reset();
    await painted();
    cfg.chunks = chunks;
    cfg.intervalMs = intervalMs;
    performance.clearMarks();
    const before = longTasks;
    performance.mark('stream-start');
    await el.send('Write a long answer with headings, lists, code and tables.');
    await painted();
    performance.mark('stream-end');
    const ok = (el.shadowRoot.querySelector('.message.assistant:last-of-type')?.textContent ?? '').length > 0;
    el.remove();
    return { longTasks: longTasks - before, rendered: ok };
  },

  /** The same schedule into the floor element (lit + marked + DOMPurify re-rendering all text each frame). */
  async floor(chunks, intervalMs) {
    const el = document.createElement('floor-element');
    document.body.append(el);
    let text = '';
    let pending = 0;
    const flush = () => {
      pending = 0;
      el.text = text;
    };
    await schedule(chunks.length, 0, (i) => (text += chunks[i]));
    flush();
    await painted();
    text = '';
    el.text = '';
    await painted();
    performance.clearMarks();
    const before = longTasks;
    performance.mark('stream-start');
    await schedule(chunks.length, intervalMs, (i) => {
      performance.mark('chunk');
      text += chunks[i];
      pending ||= requestAnimationFrame(flush);
    });
    await painted();
    performance.mark('stream-end');
    el.remove();
    return { longTasks: longTasks - before };
  },

  /** Mounts an element whose stored history has `history.length` messages: ms from the history response to painted. */
  async history(history, floorToo) {
    cfg.history = [];
    (await mount()).remove(); // loads the Markdown chunk, as a page that already showed the widget would have
    cfg.history = history;
    let responded = 0;
    cfg.onHistory = (t) => (responded = t);
    const el = document.createElement('mistral-agent-chat');
    el.setAttribute('api-key', 'mac_bench');
    el.setAttribute('endpoint', location.origin);
    el.setAttribute('mode', 'inline');
    el.style.cssText = 'display:block;height:700px;width:420px';
    document.body.append(el);
    await until(() => rows(el) >= history.length);
    await painted();
    const ours = performance.now() - responded;
    cfg.onHistory = null;
    el.remove();
    let floor = null;
    if (floorToo) {
      // The floor: one floor-element per message, all set at once, to painted.
      const t0 = performance.now();
      const box = document.createElement('div');
      for (const m of history) {
        const f = document.createElement('floor-element');
        f.text = m.content;
        box.append(f);
      }
      document.body.append(box);
      await painted();
      floor = performance.now() - t0;
      box.remove();
    }
    return { ours, floor, rows: history.length };
  },
};
