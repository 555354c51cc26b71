/**
 * The settings tab's actions beside the form: rotate the widget key, make an identity secret (shown
 * once), delete the agent. Each asks first, in words that say what is lost.
 */
import { html, nothing } from 'lit';
import type { Agent } from '../api.ts';
import { fmt, plural } from '../strings.ts';
import type { ConsoleContext } from './context.ts';

export class AgentActions {
  #busy = '';
  #error = '';

  constructor(
    private readonly ctx: ConsoleContext,
    /** Conversation and message counts of an agent, from `GET /v1/owner/statistics` (null if unknown). */
    private readonly figures: (agentId: string) => Promise<{ conversations: number; messages: number } | null>,
  ) {}

  reset() {
    this.#busy = '';
    this.#error = '';
  }

  async #run(what: string, work: () => Promise<void>) {
    this.#busy = what;
    this.#error = '';
    this.ctx.requestUpdate();
    try {
      await work();
    } catch (err) {
      this.#error = this.ctx.problem(err) ?? '';
    } finally {
      this.#busy = '';
      this.ctx.requestUpdate();
    }
  }

  async #rotate(agent: Agent) {
    const s = this.ctx.s;
    if (!(await this.ctx.confirm({ title: s.rotateTitle, body: s.rotateBody, confirm: s.rotate, danger: true }))) return;
    await this.#run('rotate', async () => {
      this.ctx.agentChanged(await this.ctx.api.rotateKey(agent.id));
      this.ctx.announce(s.rotated);
    });
  }

  async #secret(agent: Agent) {
    const s = this.ctx.s;
    if (agent.has_identity_secret && !(await this.ctx.confirm({ title: s.replaceTitle, body: s.replaceBody, confirm: s.replaceSecret, danger: true })))
      return;
    await this.#run('secret', async () => {
      const answer = await this.ctx.api.identitySecret(agent.id);
      // The answer may carry the agent's columns too; the secret itself never goes into the agent list.
      const { identity_secret: secret, ...rest } = answer;
      this.ctx.agentChanged({ ...agent, ...(rest.id === agent.id ? rest : {}), has_identity_secret: true });
      this.ctx.showSecret(fmt(s.secretTitle, { name: agent.name }), secret);
    });
  }

  async #delete(agent: Agent) {
    const s = this.ctx.s;
    const lang = this.ctx.uiLang;
    const n = await this.figures(agent.id);
    const nf = new Intl.NumberFormat(lang);
    const body = n
      ? fmt(s.deleteBody, {
          conversations: plural(s, lang, 'n_conversations', n.conversations, nf.format(n.conversations)),
          messages: plural(s, lang, 'n_messages', n.messages, nf.format(n.messages)),
        })
      : s.deleteBodyUnknown;
    if (!(await this.ctx.confirm({ title: fmt(s.deleteTitle, { name: agent.name }), body, confirm: s.delete, danger: true }))) return;
    await this.#run('delete', async () => {
      await this.ctx.api.deleteAgent(agent.id);
      this.ctx.agentDeleted(agent);
      this.ctx.announce(fmt(s.deleted, { name: agent.name }));
    });
  }

  render(agent: Agent) {
    const s = this.ctx.s;
    const busy = !!this.#busy;
    return html`
      ${this.#error ? html`<p class="alert" role="alert" part="error">${this.#error}</p>` : nothing}
      <section class="card" part="card" aria-labelledby="key-h">
        <h3 id="key-h">${s.keyTitle}</h3>
        <p>${s.keyIntro}</p>
        <p><code class="key" part="api-key">${agent.api_key}</code></p>
        <button type="button" part="button" class="rotate" ?disabled=${busy} @click=${() => this.#rotate(agent)}>${s.rotate}</button>
      </section>
      <section class="card" part="card" aria-labelledby="identity-h">
        <h3 id="identity-h">${s.identityTitle}</h3>
        <p>${s.identityIntro}</p>
        <p class="state">${agent.has_identity_secret ? s.identityHas : s.identityNone}</p>
        <button type="button" part="button" class="secret" ?disabled=${busy} @click=${() => this.#secret(agent)}>
          ${agent.has_identity_secret ? s.replaceSecret : s.generateSecret}
        </button>
      </section>
      <section class="card danger-zone" part="card danger-zone" aria-labelledby="danger-h">
        <h3 id="danger-h">${s.dangerTitle}</h3>
        <p>${s.dangerIntro}</p>
        <button type="button" part="button danger-button" class="danger delete" ?disabled=${busy} @click=${() => this.#delete(agent)}>${s.delete}</button>
      </section>
    `;
  }
}
