/**
 * The agent settings form (create and edit): every owner-set column, checked before sending with the
 * field named, and a server 400 `invalid_request` shown on the field it names. Edits send only the
 * columns that changed (PATCH).
 */
import { html, nothing, type TemplateResult } from 'lit';
import { live } from 'lit/directives/live.js';
import { OwnerApiError, type Agent } from '../api.ts';
import { FIELDS, MODELS, NEW_AGENT, changes, draftOf, fieldOf, inputOf, validate, type Draft, type FieldName, type Problem } from '../agent-fields.ts';
import { fmt, type ConsoleStringKey } from '../strings.ts';
import type { ConsoleContext } from './context.ts';

type Numeric = 'decimal' | 'numeric';

export class AgentForm {
  /** The agent the draft belongs to (`new` for the create form). */
  target = '';
  draft: Draft = { ...NEW_AGENT };
  #problems: Problem[] = [];
  #server: { field: FieldName; message: string } | null = null;
  /** A failure not tied to a field. */
  #error = '';
  #saving = false;
  /** After a first submit, fields are checked as they change. */
  #checked = false;

  constructor(private readonly ctx: ConsoleContext) {}

  /** Shows `agent` (null: a new agent). A draft in progress for the same target is kept. */
  show(agent: Agent | null) {
    const target = agent?.id ?? 'new';
    if (this.target === target) return;
    this.target = target;
    this.draft = agent ? draftOf(agent) : { ...NEW_AGENT };
    this.#clear();
  }

  /** Forgets the draft (sign-out, agent deleted). */
  reset() {
    this.target = '';
    this.draft = { ...NEW_AGENT };
    this.#clear();
    this.#saving = false;
  }

  #clear() {
    this.#problems = [];
    this.#server = null;
    this.#error = '';
    this.#checked = false;
  }

  #label(f: FieldName) {
    return this.ctx.s[`f_${f}` as ConsoleStringKey];
  }

  #message(p: Problem) {
    const s = this.ctx.s;
    return fmt(s[p.key], { field: this.#label(p.field), ...p.vars });
  }

  /** The error shown under a field: the client's check first, else the server's. */
  #fieldError(f: FieldName): string {
    const p = this.#problems.find((x) => x.field === f);
    if (p) return this.#message(p);
    if (this.#server?.field === f) return fmt(this.ctx.s.v_server, { field: this.#label(f), message: this.#server.message });
    return '';
  }

  #set<K extends FieldName>(f: K, v: Draft[K]) {
    this.draft = { ...this.draft, [f]: v };
    if (this.#server?.field === f) this.#server = null;
    if (this.#checked) this.#problems = validate(this.draft);
    this.ctx.requestUpdate();
  }

  #focusField(f: FieldName) {
    this.ctx.focusAfterRender(`#f-${f}`);
  }

  async #submit(e: Event, agent: Agent | null) {
    e.preventDefault();
    if (this.#saving) return;
    const s = this.ctx.s;
    this.#checked = true;
    this.#server = null;
    this.#error = '';
    this.#problems = validate(this.draft);
    if (this.#problems.length) {
      this.#focusField(FIELDS.find((f) => this.#problems.some((p) => p.field === f))!);
      this.ctx.requestUpdate();
      return;
    }
    const body = agent ? changes(this.draft, agent) : inputOf(this.draft);
    if (agent && !Object.keys(body).length) {
      this.ctx.announce(s.noChanges);
      return;
    }
    this.#saving = true;
    this.ctx.requestUpdate();
    try {
      if (agent) {
        const saved = await this.ctx.api.updateAgent(agent.id, body);
        this.draft = draftOf(saved);
        this.#checked = false;
        this.ctx.agentChanged(saved);
        this.ctx.announce(s.saved);
      } else {
        const made = await this.ctx.api.createAgent(body);
        this.target = made.id;
        this.draft = draftOf(made);
        this.#checked = false;
        this.ctx.agentCreated(made);
        this.ctx.announce(fmt(s.created, { name: made.name }));
      }
    } catch (err) {
      const field = err instanceof OwnerApiError && err.code === 'invalid_request' ? fieldOf(err.field) : undefined;
      if (field && err instanceof OwnerApiError) {
        this.#server = { field, message: err.message };
        this.#focusField(field);
      } else {
        this.#error = this.ctx.problem(err) ?? '';
      }
    } finally {
      this.#saving = false;
      this.ctx.requestUpdate();
    }
  }

  #discard(agent: Agent | null) {
    this.draft = agent ? draftOf(agent) : { ...NEW_AGENT };
    this.#clear();
    this.ctx.requestUpdate();
  }

  /** Label, control, hint and error of one field, wired with ids for aria-describedby. */
  #row(f: FieldName, control: (describedBy: string, invalid: boolean) => TemplateResult, hint = true, extra: TemplateResult | typeof nothing = nothing) {
    const error = this.#fieldError(f);
    const hintKey = `h_${f}` as ConsoleStringKey;
    const ids = [error ? `e-${f}` : '', hint ? `h-${f}` : ''].filter(Boolean).join(' ');
    return html`<div class="field ${error ? 'invalid' : ''}" part="field">
      <label for="f-${f}">${this.#label(f)}</label>
      ${control(ids, !!error)}
      ${hint ? html`<p class="hint" id="h-${f}">${this.ctx.s[hintKey]}</p>` : nothing} ${extra}
      ${error ? html`<p class="field-error" id="e-${f}" part="field-error">${error}</p>` : nothing}
    </div>`;
  }

  #text(f: FieldName, opts: { required?: boolean; list?: string; mode?: Numeric; mono?: boolean; autocomplete?: string } = {}) {
    return this.#row(f, (ids, invalid) => html`<input id="f-${f}" name=${f} type="text" class=${opts.mono ? 'mono' : ''}
      .value=${live(String(this.draft[f]))} aria-describedby=${ids || nothing} aria-invalid=${invalid ? 'true' : 'false'}
      ?required=${!!opts.required} aria-required=${opts.required ? 'true' : nothing} inputmode=${opts.mode ?? nothing}
      list=${opts.list ?? nothing} autocomplete=${opts.autocomplete ?? 'off'} spellcheck="false"
      @input=${(e: Event) => this.#set(f, (e.target as HTMLInputElement).value)} />`);
  }

  #area(f: FieldName, rows: number, mono = false) {
    return this.#row(f, (ids, invalid) => html`<textarea id="f-${f}" name=${f} rows=${rows} class=${mono ? 'mono' : ''}
      .value=${live(String(this.draft[f]))} aria-describedby=${ids || nothing} aria-invalid=${invalid ? 'true' : 'false'}
      spellcheck=${mono ? 'false' : 'true'}
      @input=${(e: Event) => this.#set(f, (e.target as HTMLTextAreaElement).value)}></textarea>`);
  }

  #check(f: 'is_active' | 'identity_required', extra: TemplateResult | typeof nothing = nothing) {
    const error = this.#fieldError(f);
    return html`<div class="field check" part="field">
      <input id="f-${f}" name=${f} type="checkbox" .checked=${live(this.draft[f])} aria-describedby="h-${f}${error ? ` e-${f}` : ''}"
        @change=${(e: Event) => this.#set(f, (e.target as HTMLInputElement).checked)} />
      <label for="f-${f}">${this.#label(f)}</label>
      ${f === 'identity_required' ? html`<p class="hint" id="h-${f}">${this.ctx.s.h_identity_required}</p>` : html`<span id="h-${f}" hidden></span>`}
      ${extra} ${error ? html`<p class="field-error" id="e-${f}" part="field-error">${error}</p>` : nothing}
    </div>`;
  }

  render(agent: Agent | null) {
    const s = this.ctx.s;
    const fields = [...new Set(this.#problems.map((p) => p.field))];
    const noSecret = this.draft.identity_required && !agent?.has_identity_secret;
    return html`<form class="agent-form" part="form" novalidate @submit=${(e: Event) => this.#submit(e, agent)}>
      ${fields.length
        ? html`<p class="alert" role="alert" part="error">${fmt(s.formInvalid, { fields: fields.map((f) => this.#label(f)).join(', ') })}</p>`
        : nothing}
      <fieldset>
        <legend>${s.g_identity}</legend>
        ${this.#text('name', { required: true })} ${this.#text('role', { required: true })}
      </fieldset>
      <fieldset>
        <legend>${s.g_model}</legend>
        ${this.#text('model', { required: true, list: 'models', mono: true })}
        <datalist id="models">${MODELS.map((m) => html`<option value=${m}></option>`)}</datalist>
        ${this.#area('instructions', 8)}
        <div class="grid3">
          ${this.#text('temperature', { required: true, mode: 'decimal' })} ${this.#text('max_tokens', { required: true, mode: 'numeric' })}
          ${this.#text('top_p', { required: true, mode: 'decimal' })}
        </div>
        ${this.#text('mistral_agent_id', { mono: true })}
      </fieldset>
      <fieldset>
        <legend>${s.g_access}</legend>
        ${this.#check('is_active')} ${this.#area('allowed_origins', 3, true)}
        ${this.#check('identity_required', noSecret ? html`<p class="warning" part="warning">${s.h_identity_no_secret}</p>` : nothing)}
      </fieldset>
      <fieldset>
        <legend>${s.g_limits}</legend>
        <div class="grid3">
          ${this.#text('rate_limit_session_per_minute', { mode: 'numeric' })} ${this.#text('rate_limit_ip_per_minute', { mode: 'numeric' })}
          ${this.#text('daily_token_budget', { mode: 'numeric' })}
        </div>
      </fieldset>
      <fieldset>
        <legend>${s.g_data}</legend>
        ${this.#text('retention_days', { mode: 'numeric' })}
      </fieldset>
      ${this.#error ? html`<p class="alert" role="alert" part="error">${this.#error}</p>` : nothing}
      <div class="actions">
        <button type="submit" class="primary" part="button primary-button" ?disabled=${this.#saving} aria-busy=${this.#saving ? 'true' : 'false'}>
          ${this.#saving ? s.saving : agent ? s.save : s.create}
        </button>
        <button type="button" part="button" ?disabled=${this.#saving} @click=${() => this.#discard(agent)}>${s.discard}</button>
      </div>
    </form>`;
  }
}
