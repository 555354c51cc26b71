import { expect, waitUntil } from '@open-wc/testing';
import type { MistralAgentChat } from '../../src/index.ts';
import { $, find, frames, openAgent, signedIn, statusSays, text } from './console-helpers.ts';
import { ENDPOINT, FakeOwnerApi } from './fake-owner-api.ts';

describe('<mistral-agent-console> embed', () => {
  let api: FakeOwnerApi;
  let written: string[];
  beforeEach(() => {
    sessionStorage.clear();
    api = new FakeOwnerApi();
    written = [];
    Object.defineProperty(navigator, 'clipboard', {
      configurable: true,
      value: { writeText: async (t: string) => void written.push(t) },
    });
  });
  afterEach(() => api.restore());

  const preview = (el: HTMLElement) => el.shadowRoot!.querySelector<MistralAgentChat>('[part=preview] mistral-agent-chat')!;

  // First: once a widget is defined on the page, the console uses it and loads nothing.
  it('says so when the widget cannot be loaded', async () => {
    expect(customElements.get('mistral-agent-chat')).to.equal(undefined);
    const a = api.addAgent();
    const el = await signedIn({ widgetSrc: '/no-such-widget.js' });
    await openAgent(el, a.id, 'embed');
    const alert = await find(el, '.preview [role=alert]');
    expect(alert.textContent).to.equal('The widget could not be loaded from /no-such-widget.js.');
  });

  it('gives the script-tag and npm snippets for the agent, each with a copy button', async () => {
    const a = api.addAgent({ name: 'Support' });
    const el = await signedIn();
    await openAgent(el, a.id, 'embed');
    await find(el, '#script-0');
    const script = `<script type="module" src="${ENDPOINT}/widget.js"></script>\n<mistral-agent-chat api-key="${a.api_key}"></mistral-agent-chat>\n`;
    expect($(el, '#script-0')!.textContent).to.equal(script);
    expect($(el, '#npm-0')!.textContent).to.equal('npm install mistral-agent-chat\n');
    expect($(el, '#npm-1')!.textContent).to.contain("import 'mistral-agent-chat/define';");
    expect($(el, '#npm-1')!.textContent).to.contain(`<mistral-agent-chat endpoint="${ENDPOINT}" api-key="${a.api_key}">`);
    const copy = (label: string) => [...el.shadowRoot!.querySelectorAll<HTMLButtonElement>('.copy')].find((b) => b.textContent!.trim() === label)!;
    copy('Copy the script tag').click();
    await statusSays(el, 'Copied to the clipboard.');
    copy('Copy the install command').click();
    copy('Copy the import').click();
    await waitUntil(() => written.length === 3);
    expect(written[0]).to.equal(script);
    expect(written[1]).to.equal('npm install mistral-agent-chat\n');
    expect(written[2]).to.equal($(el, '#npm-1')!.textContent);
  });

  it('says so when the clipboard refuses', async () => {
    Object.defineProperty(navigator, 'clipboard', { configurable: true, value: { writeText: () => Promise.reject(new Error('denied')) } });
    const a = api.addAgent();
    const el = await signedIn();
    await openAgent(el, a.id, 'embed');
    (await find<HTMLButtonElement>(el, '.copy')).click();
    await statusSays(el, 'Could not copy: select the text and copy it by hand.');
  });

  it('shows a live preview: the real widget, loaded from the server, talking to that agent', async () => {
    const a = api.addAgent({ name: 'Concierge' });
    const el = await signedIn();
    await openAgent(el, a.id, 'embed');
    await find(el, '[part=preview] mistral-agent-chat');
    await waitUntil(() => customElements.get('mistral-agent-chat'), 'the widget defined', { timeout: 8000 });
    // the console never bundles the widget: it came from widget-src by a <script type=module>
    expect([...document.querySelectorAll('script[type=module]')].some((s) => (s as HTMLScriptElement).src.endsWith('/src/widget.ts'))).to.equal(true);
    const chat = preview(el);
    expect(chat.getAttribute('mode')).to.equal('inline');
    expect(chat.getAttribute('endpoint')).to.equal(ENDPOINT);
    await waitUntil(() => chat.shadowRoot?.querySelector('[part~=heading]')?.textContent === 'Concierge', 'the agent\'s name in the preview', { timeout: 8000 });
    const asked = api.calls.find((c) => c.url.pathname === '/v1/agent')!;
    expect(asked.headers.get('X-Api-Key')).to.equal(a.api_key);
    expect(text(el, '[part~=preview] + *') + text(el, '.preview .hint')).to.contain('stored like a visitor’s');
  });

  it('themes the preview live and writes the CSS a designer pastes', async () => {
    const a = api.addAgent();
    const el = await signedIn();
    await openAgent(el, a.id, 'embed');
    const accent = await find<HTMLInputElement>(el, '#t-accent');
    accent.value = '#0f766e';
    accent.dispatchEvent(new Event('input', { bubbles: true }));
    const radius = $<HTMLInputElement>(el, '#t-radius')!;
    radius.value = '4';
    radius.dispatchEvent(new Event('input', { bubbles: true }));
    const font = $<HTMLSelectElement>(el, '#t-font')!;
    font.value = 'serif';
    font.dispatchEvent(new Event('change', { bubbles: true }));
    $<HTMLInputElement>(el, 'input[name=t-scheme][value=dark]')!.click();
    await el.updateComplete;
    const css = $(el, '.theme pre')!.textContent!;
    expect(css).to.equal(
      'mistral-agent-chat {\n' +
        '  --mistral-chat-accent: #0f766e;\n' +
        '  --mistral-chat-on-accent: #ffffff;\n' +
        '  --mistral-chat-radius: 4px;\n' +
        "  --mistral-chat-font: Georgia, Cambria, 'Times New Roman', serif;\n" +
        '}\n',
    );
    const chat = preview(el);
    const style = getComputedStyle(chat);
    expect(style.getPropertyValue('--mistral-chat-accent').trim()).to.equal('#0f766e');
    expect(style.getPropertyValue('--mistral-chat-radius').trim()).to.equal('4px');
    // the widget derives its other radii from that one
    await waitUntil(() => customElements.get('mistral-agent-chat'), 'the widget defined', { timeout: 8000 });
    await waitUntil(() => chat.shadowRoot?.querySelector('[part~=input]'), 'the preview rendered', { timeout: 8000 });
    expect(getComputedStyle(chat.shadowRoot!.querySelector('[part~=input]')!).borderTopLeftRadius).to.equal('2.5px');
    expect(chat.getAttribute('theme')).to.equal('dark');
    expect($(el, '#script-0')!.textContent).to.contain(`api-key="${a.api_key}" theme="dark"`);
    // a light accent gets dark text on it
    accent.value = '#fde047';
    accent.dispatchEvent(new Event('input', { bubbles: true }));
    await el.updateComplete;
    expect($(el, '.theme pre')!.textContent).to.contain('--mistral-chat-on-accent: #000000;');
    const copyCss = [...el.shadowRoot!.querySelectorAll<HTMLButtonElement>('.copy')].find((b) => b.textContent!.trim() === 'Copy the CSS')!;
    copyCss.click();
    await waitUntil(() => written.length === 1);
    expect(written[0]).to.equal($(el, '.theme pre')!.textContent);
  });

  it('warns when the preview will be refused (origin not allowed, agent inactive)', async () => {
    const a = api.addAgent({ allowed_origins: ['https://shop.example.com'], is_active: false });
    const b = api.addAgent({ name: 'Open', allowed_origins: [location.origin] });
    const c = api.addAgent({ name: 'Wild', allowed_origins: ['*'] });
    const el = await signedIn();
    await openAgent(el, a.id, 'embed');
    await find(el, '.preview [part=warning]');
    expect(text(el, '.preview')).to.contain(`This page’s origin (${location.origin}) is not among the agent’s allowed origins`);
    expect(text(el, '.preview')).to.contain('The agent is inactive');
    await openAgent(el, b.id, 'embed');
    await el.updateComplete;
    expect($(el, '.preview [part=warning]')).to.equal(null);
    await openAgent(el, c.id, 'embed');
    await el.updateComplete;
    expect($(el, '.preview [part=warning]')).to.equal(null);
  });

  for (const theme of ['light', 'dark']) {
    it(`is accessible with the preview loaded (${theme})`, async () => {
      const a = api.addAgent({ name: 'Support' });
      const el = await signedIn({ theme });
      await openAgent(el, a.id, 'embed');
      await find(el, '[part=preview] mistral-agent-chat');
      await waitUntil(() => preview(el).shadowRoot?.querySelector('[part~=heading]')?.textContent === 'Support', 'preview ready', { timeout: 8000 });
      await frames();
      await expect(el).to.be.accessible();
    });
  }
});
