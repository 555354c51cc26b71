import { expect, waitUntil } from '@open-wc/testing';
import { $, $$, answerDialog, find, frames, openAgent, signedIn, statusSays, text, type } from './console-helpers.ts';
import { FakeOwnerApi, OTHER_OWNER, apiError } from './fake-owner-api.ts';

const input = (el: HTMLElement, id: string) => el.shadowRoot!.querySelector<HTMLInputElement & HTMLTextAreaElement>(`#f-${id}`)!;
const save = (el: HTMLElement) => el.shadowRoot!.querySelector<HTMLButtonElement>('.agent-form button[type=submit]')!.click();

describe('<mistral-agent-console> agents', () => {
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

  it('lists the owner\'s agents only, marks inactive ones, and shows every agent\'s totals in the overview', async () => {
    const a = api.addAgent({ name: 'Support' });
    api.addAgent({ name: 'Sales', is_active: false });
    api.addAgent({ name: 'Not mine' }, OTHER_OWNER.id);
    api.addConversation(a.id, ['Hi', 'Hello!', 'Price?', 'See /pricing'], new Date());
    const el = await signedIn();
    await waitUntil(() => $$(el, '.nav [data-agent]').length === 2);
    expect($$(el, '.nav [data-agent]').map((b) => b.textContent!.replace(/\s+/g, ' ').trim())).to.deep.equal(['Support', 'Sales Inactive']);
    const table = await find(el, '.overview');
    const rows = $$(el, '.overview tbody tr').map((r) => [...r.children].map((c) => c.textContent!.trim()));
    expect(rows[0]!.slice(0, 4)).to.deep.equal(['Support', '1', '4', '304']);
    expect(rows[1]!.slice(0, 3)).to.deep.equal(['Sales', '0', '0']);
    expect(table.closest('[role=region]')!.getAttribute('tabindex')).to.equal('0');
    await expect(el).to.be.accessible();
  });

  it('offers to create the first agent when there is none', async () => {
    const el = await signedIn();
    expect(text(el, '.main .empty')).to.equal('No agent yet. Create one to get a widget key.');
    $<HTMLButtonElement>(el, '.main button.primary')!.click();
    await find(el, '.agent-form');
    expect(text(el, '#main-h')).to.equal('New agent');
    expect(el.shadowRoot!.activeElement?.id).to.equal('main-h');
  });

  it('creates an agent with every owner field, then shows its embed tab', async () => {
    const el = await signedIn();
    $<HTMLButtonElement>(el, '.new-agent')!.click();
    await find(el, '.agent-form');
    expect(input(el, 'model').value).to.equal('mistral-small-latest');
    type(input(el, 'name'), 'Helpdesk');
    type(input(el, 'instructions'), 'Answer briefly.');
    type(input(el, 'temperature'), '0.3');
    type(input(el, 'allowed_origins'), 'https://shop.example.com\n\nhttps://*.example.org');
    type(input(el, 'daily_token_budget'), '500000');
    type(input(el, 'retention_days'), '30');
    save(el);
    await find(el, '#tab-embed[aria-selected=true]');
    const [post] = api.callsTo('POST', /^\/v1\/owner\/agents$/);
    expect(post!.body).to.deep.equal({
      name: 'Helpdesk',
      role: 'assistant',
      instructions: 'Answer briefly.',
      model: 'mistral-small-latest',
      temperature: 0.3,
      max_tokens: 1024,
      top_p: 1,
      is_active: true,
      allowed_origins: ['https://shop.example.com', 'https://*.example.org'],
      rate_limit_session_per_minute: null,
      rate_limit_ip_per_minute: null,
      daily_token_budget: 500000,
      retention_days: 30,
      identity_required: false,
      mistral_agent_id: null,
    });
    expect(text(el, '#main-h')).to.equal('Helpdesk');
    await statusSays(el, 'Agent “Helpdesk” created.');
    expect($$(el, '.nav [data-agent]').map((b) => b.textContent!.trim())).to.deep.equal(['Helpdesk']);
  });

  it('checks every field before sending and names it, focusing the first one', async () => {
    const el = await signedIn();
    $<HTMLButtonElement>(el, '.new-agent')!.click();
    await find(el, '.agent-form');
    type(input(el, 'temperature'), '1.5');
    type(input(el, 'top_p'), '0.125');
    type(input(el, 'max_tokens'), '0');
    type(input(el, 'model'), 'mistral small');
    type(input(el, 'mistral_agent_id'), '-bad id');
    type(input(el, 'allowed_origins'), 'https://ok.example.com\nhttps://shop.example.com/path');
    type(input(el, 'rate_limit_session_per_minute'), '-1');
    type(input(el, 'rate_limit_ip_per_minute'), 'ten');
    type(input(el, 'daily_token_budget'), '0');
    type(input(el, 'retention_days'), '1.5');
    save(el);
    await find(el, '#e-name');
    const error = (f: string) => text(el, `#e-${f}`);
    expect(error('name')).to.equal('Name: required.');
    expect(error('temperature')).to.equal('Temperature: enter a number from 0 to 1.');
    expect(error('top_p')).to.equal('Top P: at most two decimals.');
    expect(error('max_tokens')).to.equal('Max tokens per reply: enter a whole number from 1 to 2147483647.');
    expect(error('model')).to.equal('Model: letters, digits and - _ . : / only, no spaces.');
    expect(error('mistral_agent_id')).to.contain('Mistral agent ID:');
    expect(error('allowed_origins')).to.equal(
      'Allowed origins: “https://shop.example.com/path” is not an origin (scheme://host[:port], without a path).',
    );
    expect(error('rate_limit_session_per_minute')).to.equal('Messages per session per minute: enter a whole number from 0 to 2147483647.');
    expect(error('rate_limit_ip_per_minute')).to.contain('Messages per IP address per minute:');
    expect(error('daily_token_budget')).to.contain('Daily token budget: enter a whole number from 1');
    expect(error('retention_days')).to.contain('Keep conversations (days):');
    expect(text(el, '.agent-form > [role=alert]')).to.contain('Check these fields: Name, Model,');
    expect(input(el, 'name').getAttribute('aria-invalid')).to.equal('true');
    expect(input(el, 'name').getAttribute('aria-describedby')).to.equal('e-name h-name');
    expect(el.shadowRoot!.activeElement?.id).to.equal('f-name');
    expect(api.callsTo('POST', /^\/v1\/owner\/agents$/)).to.have.length(0);
    await expect(el).to.be.accessible();
    // fixed as the owner types
    type(input(el, 'name'), 'Fixed');
    await el.updateComplete;
    expect($(el, '#e-name')).to.equal(null);
  });

  it('edits every field and sends only what changed', async () => {
    const a = api.addAgent({ name: 'Support', allowed_origins: ['https://a.example.com'], daily_token_budget: 1000 });
    const el = await signedIn();
    await openAgent(el, a.id, 'settings');
    await find(el, '.agent-form');
    expect(input(el, 'temperature').value).to.equal('0.7');
    expect(input(el, 'allowed_origins').value).to.equal('https://a.example.com');
    type(input(el, 'name'), 'Support 2');
    type(input(el, 'role'), 'concierge');
    type(input(el, 'instructions'), 'New instructions');
    type(input(el, 'model'), 'mistral-large-latest');
    type(input(el, 'temperature'), '0.25');
    type(input(el, 'max_tokens'), '2048');
    type(input(el, 'top_p'), '0.9');
    type(input(el, 'mistral_agent_id'), 'ag_0123:abc');
    input(el, 'is_active').click();
    type(input(el, 'allowed_origins'), '');
    input(el, 'identity_required').click();
    type(input(el, 'rate_limit_session_per_minute'), '0');
    type(input(el, 'rate_limit_ip_per_minute'), '120');
    type(input(el, 'daily_token_budget'), '');
    type(input(el, 'retention_days'), '90');
    await el.updateComplete;
    // identity required without a secret: said, not refused
    expect(text(el, '[part=warning]')).to.contain('no identity secret yet');
    save(el);
    await statusSays(el, 'Changes saved.');
    const [patch] = api.callsTo('PATCH', /^\/v1\/owner\/agents\/[^/]+$/);
    expect(patch!.url.pathname).to.equal(`/v1/owner/agents/${a.id}`);
    expect(patch!.body).to.deep.equal({
      name: 'Support 2',
      role: 'concierge',
      instructions: 'New instructions',
      model: 'mistral-large-latest',
      temperature: 0.25,
      max_tokens: 2048,
      top_p: 0.9,
      is_active: false,
      allowed_origins: null,
      rate_limit_session_per_minute: 0,
      rate_limit_ip_per_minute: 120,
      daily_token_budget: null,
      retention_days: 90,
      identity_required: true,
      mistral_agent_id: 'ag_0123:abc',
    });
    expect(text(el, '#main-h')).to.equal('Support 2');
    expect(text(el, '.nav')).to.contain('Inactive');
    // a second save with nothing changed sends nothing
    save(el);
    await statusSays(el, 'Nothing to save: no field changed.');
    expect(api.callsTo('PATCH', /^\/v1\/owner\/agents\/[^/]+$/)).to.have.length(1);
  });

  it('shows the server\'s 400 invalid_request on the field it names', async () => {
    const a = api.addAgent();
    const el = await signedIn();
    await openAgent(el, a.id, 'settings');
    await find(el, '.agent-form');
    type(input(el, 'allowed_origins'), 'https://shop.example.com');
    api.once('PATCH', /^\/v1\/owner\/agents\//, apiError(400, 'invalid_request', 'allowed_origins[0]: origin not reachable', { field: 'allowed_origins[0]' }));
    save(el);
    await find(el, '#e-allowed_origins');
    expect(text(el, '#e-allowed_origins')).to.equal('Allowed origins: allowed_origins[0]: origin not reachable');
    expect(el.shadowRoot!.activeElement?.id).to.equal('f-allowed_origins');
    await expect(el).to.be.accessible();
    // an unknown field from the server is shown as a form error
    api.once('PATCH', /^\/v1\/owner\/agents\//, apiError(400, 'invalid_request', 'user_id cannot be set', { field: 'user_id' }));
    save(el);
    await waitUntil(() => $$(el, '.agent-form p[role=alert]').some((p) => p.textContent!.includes('The server refused the request: user_id cannot be set')));
  });

  it('says "not found" when the agent was deleted elsewhere', async () => {
    const a = api.addAgent();
    const el = await signedIn();
    await openAgent(el, a.id, 'settings');
    await find(el, '.agent-form');
    api.agents = [];
    type(input(el, 'name'), 'Renamed');
    save(el);
    await waitUntil(() => $$(el, '.agent-form p[role=alert]').some((p) => p.textContent === 'Not found: it may have been deleted.'));
  });

  it('rotates the key after a confirmation, and the snippet follows', async () => {
    const a = api.addAgent();
    const old = a.api_key;
    const el = await signedIn();
    await openAgent(el, a.id, 'settings');
    const button = await find<HTMLButtonElement>(el, 'button.rotate');
    expect(text(el, '[part=api-key]')).to.equal(old);
    button.focus();
    button.click();
    const dialog = await find<HTMLDialogElement>(el, '#confirm[open]');
    expect(text(el, '#dlg-h')).to.equal('Rotate the widget key?');
    expect(text(el, '#dlg-b')).to.contain('stop working within 5 seconds');
    expect(el.shadowRoot!.activeElement?.getAttribute('value')).to.equal('cancel');
    await expect(el).to.be.accessible();
    await answerDialog(el, 'cancel');
    expect(api.callsTo('POST', /rotate-key$/)).to.have.length(0);
    expect(el.shadowRoot!.activeElement).to.equal(button);
    button.click();
    await answerDialog(el, 'confirm');
    await statusSays(el, 'New key made');
    expect(api.callsTo('POST', /rotate-key$/)).to.have.length(1);
    await waitUntil(() => text(el, '[part=api-key]') === api.agents[0]!.api_key);
    expect(api.agents[0]!.api_key).not.to.equal(old);
    expect(dialog.open).to.equal(false);
    $<HTMLButtonElement>(el, '#tab-embed')!.click();
    await find(el, '#script-0');
    expect(text(el, '#script-0')).to.contain(api.agents[0]!.api_key);
    expect(el.shadowRoot!.innerHTML).not.to.contain(old);
  });

  it('generates an identity secret, shows it once with a copy button, then forgets it', async () => {
    const a = api.addAgent();
    const el = await signedIn();
    await openAgent(el, a.id, 'settings');
    expect(text(el, '#identity-h + p + .state')).to.equal('No secret yet.');
    const make = await find<HTMLButtonElement>(el, 'button.secret');
    make.focus();
    make.click();
    const dialog = await find<HTMLDialogElement>(el, '#secret[open]');
    const secret = api.agents[0]!.identity_secret!;
    expect($<HTMLInputElement>(el, '#secret-value')!.value).to.equal(secret);
    expect(text(el, '#secret-h')).to.equal('Identity secret of “Support”');
    expect(text(el, '#secret-d')).to.contain('shown only once');
    await expect(el).to.be.accessible();
    dialog.querySelector<HTMLButtonElement>('.copy')!.click();
    await waitUntil(() => written.length === 1);
    expect(written[0]).to.equal(secret);
    await statusSays(el, 'Copied to the clipboard.');
    dialog.querySelector<HTMLButtonElement>('button[value=done]')!.click();
    await waitUntil(() => !$(el, '#secret-value'), 'the secret gone from the DOM');
    expect(dialog.open).to.equal(false);
    expect(el.shadowRoot!.innerHTML).not.to.contain(secret);
    expect(text(el, '#identity-h + p + .state')).to.equal('A secret is set.');
    expect(el.shadowRoot!.activeElement).to.equal($(el, 'button.secret'));
    // replacing asks first
    $<HTMLButtonElement>(el, 'button.secret')!.click();
    await find(el, '#confirm[open]');
    expect(text(el, '#dlg-h')).to.equal('Replace the identity secret?');
    await answerDialog(el, 'cancel');
    expect(api.callsTo('POST', /identity-secret$/)).to.have.length(1);
  });

  it('deletes an agent after a confirmation that says how many conversations and messages are lost', async () => {
    const a = api.addAgent({ name: 'Support' });
    const b = api.addAgent({ name: 'Sales' });
    api.addConversation(a.id, ['a', 'b', 'c'], new Date());
    api.addConversation(a.id, ['d', 'e'], new Date());
    const el = await signedIn();
    await openAgent(el, a.id, 'settings');
    (await find<HTMLButtonElement>(el, 'button.delete')).click();
    await find(el, '#confirm[open]');
    expect(text(el, '#dlg-h')).to.equal('Delete “Support”?');
    expect(text(el, '#dlg-b')).to.equal(
      'This erases 2 conversations and 5 messages for good, and pages that embed this agent stop working.',
    );
    expect($(el, '#confirm button[value=confirm]')!.className).to.contain('danger');
    await answerDialog(el, 'confirm');
    await statusSays(el, 'Agent “Support” deleted.');
    expect(api.callsTo('DELETE', /^\/v1\/owner\/agents\//)[0]!.url.pathname).to.equal(`/v1/owner/agents/${a.id}`);
    await waitUntil(() => text(el, '#main-h') === 'Overview');
    expect($$(el, '.nav [data-agent]').map((x) => x.dataset.agent)).to.deep.equal([b.id]);
  });

  it('is accessible in light and dark, with its tabs driven by the keyboard', async () => {
    const a = api.addAgent({ name: 'Support' });
    for (const theme of ['light', 'dark']) {
      sessionStorage.clear();
      const el = await signedIn({ theme });
      await openAgent(el, a.id, 'settings');
      await find(el, '.agent-form');
      await frames();
      await expect(el).to.be.accessible();
      const tab = $<HTMLButtonElement>(el, '#tab-settings')!;
      tab.focus();
      tab.dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowRight', bubbles: true, composed: true }));
      await find(el, '#tab-embed[aria-selected=true]');
      expect(el.shadowRoot!.activeElement?.id).to.equal('tab-embed');
      $(el, '#tab-embed')!.dispatchEvent(new KeyboardEvent('keydown', { key: 'End', bubbles: true, composed: true }));
      await find(el, '#tab-statistics[aria-selected=true]');
      expect($(el, '[role=tabpanel]')!.getAttribute('aria-labelledby')).to.equal('tab-statistics');
      el.remove();
    }
  });
});
