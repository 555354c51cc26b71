import { expect, fixture, html, waitUntil } from '@open-wc/testing';
import '../../src/define.ts';
import type { MistralAgentChat } from '../../src/index.ts';
import { ENDPOINT, FakeProxy, KEY, errorBody } from './fake-proxy.ts';

const $ = (el: MistralAgentChat, sel: string) => el.shadowRoot!.querySelector<HTMLElement>(sel)!;

/** The corner of every rounded piece, by name. */
const CORNERS: Record<string, string> = {
  panel: '[part~=panel]',
  'user bubble': '[part~=bubble-user]',
  'agent bubble': '[part~=bubble-assistant]',
  input: '[part~=input]',
  'icon button': '[part~=new-button]',
  send: '[part~=send]',
  'code block': 'pre',
  'copy button': '[part~=copy-button]',
  error: '[part~=error]',
  retry: '[part~=retry]',
};
const radii = (el: MistralAgentChat) =>
  Object.fromEntries(Object.entries(CORNERS).map(([name, sel]) => [name, getComputedStyle($(el, sel)).borderTopLeftRadius]));

describe('<mistral-agent-chat> theming: one radius drives the others', () => {
  let proxy: FakeProxy;
  beforeEach(() => {
    localStorage.clear();
    proxy = new FakeProxy();
  });
  afterEach(() => proxy.restore());

  /** An inline chat with a user message, a reply with code (and its copy button) and an error with Retry. */
  async function everything(style: string) {
    proxy.history = [
      { id: 'u', role: 'user', content: 'Code?', created_at: '2025-01-01T00:00:00Z' },
      { id: 'a', role: 'assistant', content: '```js\nlet a = 1;\n```', created_at: '2025-01-01T00:00:01Z' },
    ];
    const el = await fixture<HTMLElement>(
      html`<div style="height:600px"><mistral-agent-chat mode="inline" style=${style} api-key=${KEY} endpoint=${ENDPOINT}></mistral-agent-chat></div>`,
    ).then((d) => d.firstElementChild as MistralAgentChat);
    await waitUntil(() => el.shadowRoot!.querySelector('[part~=copy-button]'), 'reply rendered');
    proxy.chatAnswers.push(errorBody(503, 'unavailable'));
    await el.send('again');
    await el.updateComplete;
    return el;
  }
  const starterRadius = async (style: string) => {
    proxy.history = [];
    const el = await fixture<MistralAgentChat>(
      html`<mistral-agent-chat mode="inline" style=${style} api-key=${KEY} endpoint=${ENDPOINT} starters='["Hi"]'></mistral-agent-chat>`,
    );
    await waitUntil(() => el.shadowRoot!.querySelector('[part~=starter]'), 'starters shown');
    return getComputedStyle($(el, '[part~=starter]')).borderTopLeftRadius;
  };

  it('keeps the documented default corners', async () => {
    expect(radii(await everything(''))).to.deep.equal({
      panel: '16px',
      'user bubble': '14px',
      'agent bubble': '14px',
      input: '10px',
      'icon button': '10px',
      send: '10px',
      'code block': '8px',
      'copy button': '6px',
      error: '10px',
      retry: '10px',
    });
    expect(await starterRadius('')).to.equal('32px', 'a pill');
  });

  for (const zero of ['0', '0px'])
    it(`squares every corner with --mistral-chat-radius: ${zero}`, async () => {
      const all = radii(await everything(`--mistral-chat-radius: ${zero}`));
      expect(Object.entries(all).filter(([, r]) => r !== '0px')).to.deep.equal([]);
      expect(await starterRadius(`--mistral-chat-radius: ${zero}`)).to.equal('0px');
    });

  it('scales the corners with the main radius, and each can still be set on its own', async () => {
    const el = await everything('--mistral-chat-radius: 8px; --mistral-chat-bubble-radius: 3px; --mistral-chat-code-radius: 0px');
    expect(radii(el)).to.deep.include({ panel: '8px', input: '5px', 'user bubble': '3px', 'code block': '0px', 'copy button': '0px' });
    expect(await starterRadius('--mistral-chat-radius: 4px')).to.equal('8px');
  });
});
