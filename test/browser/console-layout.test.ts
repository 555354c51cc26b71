import { expect, waitUntil } from '@open-wc/testing';
import { setViewport } from '@web/test-runner-commands';
import { $, $$, answerDialog, find, frames, mount, openAgent, signedIn, submitSignIn, text, type } from './console-helpers.ts';
import { FakeOwnerApi } from './fake-owner-api.ts';

describe('<mistral-agent-console> in French and on a phone', () => {
  let api: FakeOwnerApi;
  beforeEach(() => {
    sessionStorage.clear();
    api = new FakeOwnerApi();
  });
  afterEach(async () => {
    api.restore();
    await setViewport({ width: 1280, height: 800 });
  });

  it('speaks French: sign-in, navigation, tabs, validation naming the field, plurals, numbers and dates', async () => {
    const a = api.addAgent({ name: 'Support' });
    api.addConversation(a.id, ['Bonjour', 'Bonjour !'], new Date(Date.UTC(2026, 4, 3, 14, 2)));
    api.addConversation(a.id, ['Livraison ?', 'Demain.'], new Date(Date.UTC(2026, 4, 2, 9, 0)));
    api.daily.set(a.id, [{ day: new Date().toISOString().slice(0, 10), conversations: 1234, user_messages: 1, assistant_messages: 1, tokens_used: 56789, avg_response_time_ms: 1500, positive_feedback: 0, negative_feedback: 0 }]);
    const el = await mount({ lang: 'fr' });
    expect((await find(el, '#si-h')).textContent).to.equal('Connexion');
    expect($(el, 'label[for=si-password]')!.textContent).to.equal('Mot de passe');
    await submitSignIn(el, 'ada@example.com', 'faux');
    expect((await find(el, '.sign-in [role=alert]')).textContent).to.equal('E-mail ou mot de passe incorrect.');
    await submitSignIn(el);
    await find(el, '.nav');
    expect($(el, '.console')!.getAttribute('lang')).to.equal('fr');
    expect(text(el, '.sign-out')).to.equal('Se déconnecter');
    expect(text(el, '#main-h')).to.equal('Vue d’ensemble');
    await openAgent(el, a.id, 'settings');
    expect($$(el, '[role=tab]').map((t) => t.textContent)).to.deep.equal(['Réglages', 'Intégration', 'Conversations', 'Statistiques']);
    const name = await find<HTMLInputElement>(el, '#f-name');
    type(name, '');
    type($<HTMLInputElement>(el, '#f-temperature')!, '2');
    $<HTMLButtonElement>(el, '.agent-form button[type=submit]')!.click();
    await find(el, '#e-name');
    expect(text(el, '#e-name')).to.equal('Nom : obligatoire.');
    expect(text(el, '#e-temperature')).to.equal('Température : saisissez un nombre de 0 à 1.');
    type(name, 'Support');
    type($<HTMLInputElement>(el, '#f-temperature')!, '0.7');
    $<HTMLButtonElement>(el, 'button.delete')!.click();
    await find(el, '#confirm[open]');
    expect(text(el, '#dlg-b')).to.contain('2 conversations et 4 messages');
    expect(text(el, '#confirm button[value=cancel]')).to.equal('Annuler');
    await answerDialog(el, 'cancel');
    $<HTMLButtonElement>(el, '#tab-conversations')!.click();
    await waitUntil(() => $$(el, '[part=conversation]').length === 2);
    expect(text(el, '[part=conversation]')).to.contain('2 messages').and.contain('Agent : Bonjour !').and.contain('3 mai 2026');
    $<HTMLButtonElement>(el, '#tab-statistics')!.click();
    await find(el, '[part=chart-summary]');
    // French groups thousands with a narrow no-break space
    expect($(el, '[part=chart-summary]')!.textContent).to.match(/^Conversations : 1\u202f234 sur 30 jours, au plus 1\u202f234/);
    await expect(el).to.be.accessible();
  });

  it('follows the page language when it has no lang, and English for a language it does not know', async () => {
    document.documentElement.lang = 'fr-CA';
    try {
      const el = await mount({ lang: '' });
      expect((await find(el, '#si-h')).textContent).to.equal('Connexion');
      el.lang = 'de';
      await el.updateComplete;
      expect(text(el, '#si-h')).to.equal('Sign in');
    } finally {
      document.documentElement.lang = '';
    }
  });

  it('passes axe in the dark theme in the states the other suites check in light: sign-in errors, overview, dialogs', async () => {
    const a = api.addAgent({ name: 'Support' });
    api.addConversation(a.id, ['Hi', 'Hello'], new Date());
    const el = await mount({ theme: 'dark' });
    await submitSignIn(el, '', '');
    await find(el, '#si-email-e');
    await expect(el).to.be.accessible();
    await submitSignIn(el, 'ada@example.com', 'wrong');
    await find(el, '.sign-in [role=alert]');
    await expect(el).to.be.accessible();
    await submitSignIn(el);
    await find(el, '.overview');
    await expect(el).to.be.accessible();
    await openAgent(el, a.id, 'settings');
    (await find<HTMLButtonElement>(el, 'button.delete')).click();
    await find(el, '#confirm[open]');
    await frames();
    await expect(el).to.be.accessible();
    await answerDialog(el, 'cancel');
    $<HTMLButtonElement>(el, 'button.secret')!.click();
    await find(el, '#secret[open]');
    await frames();
    await expect(el).to.be.accessible();
  });

  it('is usable at 390 px wide: nothing overflows, the agent list sits above the page, every tab passes axe', async () => {
    await setViewport({ width: 390, height: 844 });
    const a = api.addAgent({ name: 'A support agent with a rather long name', allowed_origins: ['https://shop.example.com'] });
    api.addAgent({ name: 'Sales' });
    api.addConversation(a.id, ['A question with a_very_long_unbroken_identifier_that_could_overflow_the_screen_width_easily', 'An answer'], new Date());
    api.daily.set(a.id, [{ day: new Date().toISOString().slice(0, 10), conversations: 3, user_messages: 4, assistant_messages: 4, tokens_used: 900, avg_response_time_ms: 1200, positive_feedback: 1, negative_feedback: 0 }]);
    const el = await signedIn();
    const fits = async (where: string) => {
      await frames();
      const width = el.getBoundingClientRect().width;
      expect(width, where).to.be.at.most(390);
      expect(document.documentElement.scrollWidth, `${where}: page scroll width`).to.be.at.most(390);
      for (const node of el.shadowRoot!.querySelectorAll<HTMLElement>('.main, .nav, .header, form, .card, .charts, [part=conversation]'))
        expect(node.getBoundingClientRect().right, `${where}: ${node.className || node.tagName}`).to.be.at.most(391);
    };
    await fits('overview');
    expect($(el, '.nav')!.getBoundingClientRect().bottom).to.be.at.most($(el, '.main')!.getBoundingClientRect().top + 1);
    for (const tab of ['settings', 'embed', 'conversations', 'statistics'] as const) {
      await openAgent(el, a.id, tab);
      if (tab === 'conversations') await waitUntil(() => $$(el, '[part=conversation]').length === 1);
      if (tab === 'statistics') await waitUntil(() => $$(el, '.chart canvas').length === 5, 'charts', { timeout: 8000 });
      if (tab === 'settings') await find(el, '.agent-form');
      await fits(tab);
      await expect(el).to.be.accessible();
    }
    await openAgent(el, a.id, 'conversations');
    (await find<HTMLButtonElement>(el, '[part=conversation]')).click();
    await find(el, '.transcript-messages');
    await fits('transcript');
  });
});
