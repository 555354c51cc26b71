/**
 * The demo agent of `npm start`: created only in demo mode (the embedded database, or `serve --demo`), never
 * silently in an owner's database.
 */
import type { Db } from '../db/db.ts';
import { DOCS_DEMO_AGENT_ID } from '../upstream/builtin-agents.ts';
import { AGENT_JSON, createAgent, type Agent, type Executor } from './agents.ts';
import { DEFAULT_OWNER, ensureOwner } from './owners.ts';

export const DEMO_AGENT = {
  name: 'Demo assistant',
  role: 'assistant',
  instructions:
    'You are a friendly, concise assistant on a demo page of mistral-agent-chat, an embeddable chat widget. ' +
    'Answer helpfully in the language of the visitor, use Markdown when it helps, and say so when you do not know.',
  // Grounded on this project's README and docs by the offline demo model; with a real MISTRAL_API_KEY the
  // proxy answers it through chat completions with the instructions above (Mistral does not know this id).
  mistral_agent_id: DOCS_DEMO_AGENT_ID,
} as const;

/** The first active agent, oldest first: the one the demo pages embed. */
export async function firstActiveAgent(q: Executor): Promise<Agent | null> {
  const { rows } = await q.query<{ agent: Agent }>(
    `select ${AGENT_JSON} as agent from public.agents a where a.is_active order by a.created_at, a.id limit 1`,
  );
  return rows[0]?.agent ?? null;
}

/**
 * The agent the demo pages embed: the first active one. On a database with no agent at all, creates the demo
 * owner and the demo agent first (`created` tells the caller to announce the new key).
 */
export function ensureDemoAgent(db: Db): Promise<{ agent: Agent | null; created: boolean }> {
  return db.transaction(async (tx) => {
    // Several servers starting on one empty database create one demo agent, not one each.
    await tx.query("select pg_advisory_xact_lock(hashtext('mistral-agent-chat:demo-agent'))");
    const { rows } = await tx.query<{ n: string | number }>('select count(*) as n from public.agents');
    if (Number(rows[0]?.n ?? 0) > 0) return { agent: await firstActiveAgent(tx), created: false };
    const userId = await ensureOwner(tx, DEFAULT_OWNER);
    return { agent: await createAgent(tx, { ...DEMO_AGENT }, { userId }), created: true };
  });
}
