import { expect, waitUntil } from '@open-wc/testing';
import { $, find, mount, signedIn, statusSays, submitSignIn, text } from './console-helpers.ts';
import { ANON_KEY, FakeOwnerApi, OWNER, SUPABASE_URL, apiError } from './fake-owner-api.ts';

describe('<mistral-agent-console> sign-in', () => {
  let api: FakeOwnerApi;
  beforeEach(() => {
    sessionStorage.clear();
    api = new FakeOwnerApi();
    api.addAgent({ name: 'Support' });
  });
  afterEach(() => api.restore());

  describe('local auth', () => {
    it('signs in with email and password, keeps the token in sessionStorage only, and shows the owner', async () => {
      const el = await mount();
      const h = await find(el, '#si-h');
      expect(h.textContent).to.equal('Sign in');
      await expect(el).to.be.accessible();
      await submitSignIn(el);
      await find(el, '.nav');
      expect(text(el, '.who')).to.equal(`Signed in as ${OWNER.email}`);
      const [token] = api.callsTo('POST', /^\/v1\/owner\/token$/);
      expect(token!.body).to.deep.equal({ email: OWNER.email, password: OWNER.password });
      const stored = Object.keys(sessionStorage).filter((k) => k.startsWith('mistral-agent-console'));
      expect(stored).to.have.length(1);
      const bearer = api.callsTo('GET', /^\/v1\/owner\/me$/)[0]!.headers.get('Authorization');
      expect(bearer).to.match(/^Bearer tok_/);
      // nothing secret in the DOM: no password field, no token
      expect($(el, 'input[type=password]')).to.equal(null);
      expect(el.shadowRoot!.innerHTML).not.to.contain(bearer!.slice(7));
      expect(Object.values(localStorage).join()).not.to.contain(bearer!.slice(7));
      await waitUntil(() => text(el, '.nav').includes('Support'));
      expect(el.shadowRoot!.activeElement?.id).to.equal('main-h');
      // local auth never downloads Supabase Auth (this file's Supabase tests run later in the same page)
      const loaded = performance.getEntriesByType('resource').map((r) => r.name);
      expect(loaded.filter((u) => /supabase/.test(u))).to.deep.equal([]);
    });

    it('says "wrong email or password" for a 401 invalid_credentials, empties the password and keeps the email', async () => {
      const el = await mount();
      await submitSignIn(el, OWNER.email, 'nope');
      const alert = await find(el, '.sign-in [role=alert]');
      expect(alert.textContent).to.equal('Wrong email or password.');
      expect($<HTMLInputElement>(el, '#si-password')!.value).to.equal('');
      expect($<HTMLInputElement>(el, '#si-email')!.value).to.equal(OWNER.email);
      expect(el.shadowRoot!.activeElement?.id).to.equal('si-password');
      await expect(el).to.be.accessible();
    });

    it('shows the 429 after repeated failures plainly, with the wait from Retry-After', async () => {
      api.failures.set(OWNER.email, 5);
      const el = await mount();
      await submitSignIn(el);
      const alert = await find(el, '.sign-in [role=alert]');
      expect(alert.textContent).to.equal('Too many sign-in attempts. Try again in 15 minutes.');
      expect(api.callsTo('GET', /^\/v1\/owner\/me$/)).to.have.length(0);
    });

    it('names the empty field before calling the server', async () => {
      const el = await mount();
      await submitSignIn(el, '', '');
      await find(el, '#si-email-e');
      expect(text(el, '#si-email-e')).to.equal('Email: enter your email address.');
      expect(text(el, '#si-password-e')).to.equal('Password: enter your password.');
      expect($(el, '#si-email')!.getAttribute('aria-invalid')).to.equal('true');
      expect($(el, '#si-email')!.getAttribute('aria-describedby')).to.equal('si-email-e');
      expect(api.callsTo('POST', /token/)).to.have.length(0);
      await expect(el).to.be.accessible();
    });

    it('restores the session from sessionStorage on reload, without asking again', async () => {
      const first = await signedIn();
      first.remove();
      const el = await mount();
      await find(el, '.nav');
      expect(api.callsTo('POST', /^\/v1\/owner\/token$/)).to.have.length(1);
    });

    it('goes back to sign-in, saying why, when a call answers 401 unauthorized (expired token), and forgets the data', async () => {
      const el = await signedIn();
      await waitUntil(() => text(el, '.nav').includes('Support'));
      api.expireTokens();
      (await find<HTMLButtonElement>(el, '.nav [data-agent]')).click();
      (await find<HTMLButtonElement>(el, '#tab-conversations')).click();
      await find(el, '.sign-in .notice');
      expect(text(el, '.sign-in .notice')).to.equal('Your session has ended. Sign in again to continue.');
      await statusSays(el, 'Your session has ended. Sign in again to continue.');
      expect($(el, '.nav')).to.equal(null);
      expect(el.shadowRoot!.innerHTML).not.to.contain(api.agents[0]!.api_key);
      expect(Object.keys(sessionStorage).filter((k) => k.startsWith('mistral-agent-console'))).to.have.length(0);
      expect(el.shadowRoot!.activeElement?.id).to.equal('si-email');
      await expect(el).to.be.accessible();
      // signing in again returns to where the owner was
      await submitSignIn(el);
      await find(el, '#tab-conversations[aria-selected=true]');
    });

    it('signs out: back to the sign-in form, token forgotten', async () => {
      const el = await signedIn();
      $<HTMLButtonElement>(el, '.sign-out')!.click();
      await find(el, '#si-h');
      expect(text(el, '.notice')).to.equal('You are signed out.');
      expect(Object.keys(sessionStorage).filter((k) => k.startsWith('mistral-agent-console'))).to.have.length(0);
      expect(el.shadowRoot!.activeElement?.id).to.equal('si-h');
    });

    it('keeps an edit in progress across an expired session, for the same owner', async () => {
      const el = await signedIn();
      (await find<HTMLButtonElement>(el, '.nav [data-agent]')).click();
      const name = await find<HTMLInputElement>(el, '#f-name');
      name.value = 'Renamed while the token expired';
      name.dispatchEvent(new Event('input'));
      api.expireTokens();
      $<HTMLButtonElement>(el, '.agent-form button[type=submit]')!.click();
      await find(el, '.sign-in .notice');
      await submitSignIn(el);
      const again = await find<HTMLInputElement>(el, '#f-name');
      expect(again.value).to.equal('Renamed while the token expired');
      $<HTMLButtonElement>(el, '.agent-form button[type=submit]')!.click();
      await waitUntil(() => api.agents[0]!.name === 'Renamed while the token expired');
    });

    it('offers to retry when the agents cannot be read', async () => {
      api.once('GET', /^\/v1\/owner\/agents$/, () => Promise.reject(new TypeError('Failed to fetch')));
      const el = await mount();
      await submitSignIn(el);
      const alert = await find(el, '.main [role=alert]');
      expect(alert.textContent).to.equal('The server could not be reached. Check your connection and try again.');
      $<HTMLButtonElement>(el, '.main button.retry')!.click();
      await waitUntil(() => text(el, '.nav').includes('Support'));
      expect($(el, '.main [role=alert]')).to.equal(null);
    });

    it('says plainly when the server cannot be reached, and retries', async () => {
      api.once('GET', /^\/v1\/owner\/config$/, () => Promise.reject(new TypeError('Failed to fetch')));
      const el = await mount();
      const alert = await find(el, '[role=alert]');
      expect(alert.textContent).to.contain('could not be reached');
      await expect(el).to.be.accessible();
      $<HTMLButtonElement>(el, 'main button')!.click();
      await find(el, '#si-h');
    });
  });

  describe('Supabase auth', () => {
    beforeEach(() => {
      api.config = { auth: 'supabase', supabase_url: SUPABASE_URL, supabase_anon_key: ANON_KEY };
    });

    it('signs in with Supabase Auth and sends its access token as Bearer to the owner API', async () => {
      const el = await mount();
      await find(el, '#si-h');
      expect(text(el, '.sign-in > p')).to.contain('Supabase');
      await submitSignIn(el);
      await find(el, '.nav');
      const [grant] = api.callsTo('POST', /^\/auth\/v1\/token$/);
      expect(grant!.url.searchParams.get('grant_type')).to.equal('password');
      expect(grant!.headers.get('apikey')).to.equal(ANON_KEY);
      expect((grant!.body as { email: string }).email).to.equal(OWNER.email);
      expect(api.callsTo('POST', /^\/v1\/owner\/token$/)).to.have.length(0);
      const me = api.callsTo('GET', /^\/v1\/owner\/me$/)[0]!;
      const token = me.headers.get('Authorization')!.slice(7);
      expect(api.tokens.get(token)?.owner).to.equal(OWNER.id);
      // the library keeps its session in sessionStorage (this tab), never in localStorage
      expect(Object.values(sessionStorage).join()).to.contain(token);
      expect(Object.values(localStorage).join()).not.to.contain(token);
    });

    it('shows Supabase\'s invalid credentials and rate limit plainly', async () => {
      const el = await mount();
      await submitSignIn(el, OWNER.email, 'wrong');
      expect((await find(el, '.sign-in [role=alert]')).textContent).to.equal('Wrong email or password.');
      api.failures.set(OWNER.email, 5);
      await submitSignIn(el);
      await waitUntil(() => text(el, '.sign-in [role=alert]').startsWith('Too many'));
      expect(text(el, '.sign-in [role=alert]')).to.equal('Too many sign-in attempts. Wait a few minutes, then try again.');
    });

    it('lets the library refresh a token about to expire before calling the owner API', async () => {
      api.tokenLifetime = 60; // inside supabase-js's expiry margin: the next getSession() refreshes
      const el = await mount();
      await submitSignIn(el);
      await find(el, '.nav');
      await waitUntil(() => api.callsTo('POST', /^\/auth\/v1\/token$/).some((c) => c.url.searchParams.get('grant_type') === 'refresh_token'));
      await waitUntil(() => text(el, '.nav').includes('Support'));
    });

    it('returns to sign-in when the owner API answers 401, and signs out of Supabase', async () => {
      const el = await mount();
      await submitSignIn(el);
      await find(el, '.nav');
      api.once('GET', /^\/v1\/owner\/statistics$/, apiError(401, 'unauthorized', 'expired'));
      api.once('GET', /^\/v1\/owner\/agents\/[^/]+\/daily$/, apiError(401, 'unauthorized', 'expired'));
      (await find<HTMLButtonElement>(el, '.nav [data-agent]')).click();
      (await find<HTMLButtonElement>(el, '#tab-statistics')).click();
      await find(el, '.sign-in .notice');
      expect(text(el, '.notice')).to.contain('Your session has ended');
      await waitUntil(() => api.callsTo('POST', /^\/auth\/v1\/logout$/).length === 1);
      await waitUntil(() => !Object.keys(sessionStorage).some((k) => k.includes('supabase')));
    });

    it('signs out through Supabase Auth', async () => {
      const el = await mount();
      await submitSignIn(el);
      await find(el, '.nav');
      $<HTMLButtonElement>(el, '.sign-out')!.click();
      await find(el, '#si-h');
      expect(api.callsTo('POST', /^\/auth\/v1\/logout$/)).to.have.length(1);
      expect(Object.keys(sessionStorage).filter((k) => k.includes('supabase'))).to.have.length(0);
    });
  });
});
