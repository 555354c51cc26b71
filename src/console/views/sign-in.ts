/**
 * The sign-in form (local or Supabase: the session decides where the password goes). The password is
 * read from the field on submit and never kept; the field is emptied whatever the outcome.
 */
import { html, nothing } from 'lit';
import { OwnerApiError } from '../api.ts';
import { fmt } from '../strings.ts';
import type { ConsoleContext } from './context.ts';

export class SignIn {
  email = '';
  /** Shown above the form: why the owner is here (session ended, signed out). */
  notice = '';
  #error = '';
  #problems: { email?: string; password?: string } = {};
  #busy = false;

  constructor(
    private readonly ctx: ConsoleContext,
    private readonly signIn: (email: string, password: string) => Promise<void>,
  ) {}

  reset() {
    this.#error = '';
    this.#problems = {};
    this.#busy = false;
  }

  async #submit(e: Event) {
    e.preventDefault();
    const form = e.target as HTMLFormElement;
    const s = this.ctx.s;
    const emailInput = form.elements.namedItem('email') as HTMLInputElement;
    const passwordInput = form.elements.namedItem('password') as HTMLInputElement;
    this.email = emailInput.value.trim();
    const password = passwordInput.value;
    this.#error = '';
    this.#problems = {};
    if (!this.email || !emailInput.validity.valid) this.#problems.email = s.v_email;
    if (!password) this.#problems.password = s.v_password;
    if (this.#problems.email || this.#problems.password) {
      this.ctx.focusAfterRender(this.#problems.email ? '#si-email' : '#si-password');
      this.ctx.requestUpdate();
      return;
    }
    this.#busy = true;
    this.ctx.requestUpdate();
    try {
      await this.signIn(this.email, password);
      this.notice = '';
    } catch (err) {
      this.#error = this.#message(err);
      this.ctx.focusAfterRender('#si-password');
    } finally {
      passwordInput.value = '';
      this.#busy = false;
      this.ctx.requestUpdate();
    }
  }

  #message(err: unknown): string {
    const s = this.ctx.s;
    if (err instanceof OwnerApiError) {
      if (err.code === 'invalid_credentials' || (err.status === 401 && err.code !== 'network')) return s.e_invalid_credentials;
      if (err.status === 429 || err.code === 'rate_limited')
        return err.retryAfter ? fmt(s.e_signin_rate_limited, { n: Math.max(1, Math.ceil(err.retryAfter / 60)) }) : s.e_signin_rate_limited_soon;
    }
    return this.ctx.problem(err) ?? s.e_default;
  }

  render(mode: 'local' | 'supabase') {
    const s = this.ctx.s;
    const p = this.#problems;
    return html`<main class="sign-in" part="sign-in" aria-labelledby="si-h">
      <h1 id="si-h" tabindex="-1">${s.signInTitle}</h1>
      <p>${mode === 'supabase' ? s.signInIntroSupabase : s.signInIntro}</p>
      ${this.notice ? html`<p class="notice" role="status" part="notice">${this.notice}</p>` : nothing}
      <form novalidate @submit=${(e: Event) => this.#submit(e)} aria-busy=${this.#busy ? 'true' : 'false'}>
        <div class="field ${p.email ? 'invalid' : ''}">
          <label for="si-email">${s.email}</label>
          <input id="si-email" name="email" type="email" autocomplete="username" required aria-required="true" .value=${this.email}
            aria-invalid=${p.email ? 'true' : 'false'} aria-describedby=${p.email ? 'si-email-e' : nothing} />
          ${p.email ? html`<p class="field-error" id="si-email-e">${p.email}</p>` : nothing}
        </div>
        <div class="field ${p.password ? 'invalid' : ''}">
          <label for="si-password">${s.password}</label>
          <input id="si-password" name="password" type="password" autocomplete="current-password" required aria-required="true"
            aria-invalid=${p.password ? 'true' : 'false'} aria-describedby=${p.password ? 'si-password-e' : nothing} />
          ${p.password ? html`<p class="field-error" id="si-password-e">${p.password}</p>` : nothing}
        </div>
        ${this.#error ? html`<p class="alert" role="alert" part="error">${this.#error}</p>` : nothing}
        <button type="submit" class="primary" part="button primary-button" ?disabled=${this.#busy}>${this.#busy ? s.signingIn : s.signIn}</button>
      </form>
    </main>`;
  }
}
