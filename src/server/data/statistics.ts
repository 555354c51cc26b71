/** The `agent_statistics` view (security_invoker: an owner reads only their own agents' rows). */
import type { Executor } from './agents.ts';

export interface AgentStatistics {
  agent_id: string;
  user_id: string;
  name: string;
  total_conversations: number;
  total_messages: number;
  user_messages: number;
  assistant_messages: number;
  total_tokens_used: number;
  avg_response_time_ms: number | null;
  last_conversation_date: string | null;
  /** Visitors' ratings of the agent's replies (migration 00006). */
  positive_feedback: number;
  negative_feedback: number;
}

const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));

/** One row per agent the caller may see, by name. Drivers return bigint and numeric as strings: normalised. */
export async function agentStatistics(q: Executor): Promise<AgentStatistics[]> {
  const { rows } = await q.query('select * from public.agent_statistics order by name, agent_id');
  return rows.map((r) => ({
    agent_id: String(r.agent_id),
    user_id: String(r.user_id),
    name: String(r.name),
    total_conversations: num(r.total_conversations),
    total_messages: num(r.total_messages),
    user_messages: num(r.user_messages),
    assistant_messages: num(r.assistant_messages),
    total_tokens_used: num(r.total_tokens_used),
    avg_response_time_ms: r.avg_response_time_ms == null ? null : Math.round(Number(r.avg_response_time_ms)),
    last_conversation_date:
      r.last_conversation_date == null
        ? null
        : r.last_conversation_date instanceof Date
          ? r.last_conversation_date.toISOString()
          : String(r.last_conversation_date),
    positive_feedback: num(r.positive_feedback),
    negative_feedback: num(r.negative_feedback),
  }));
}
