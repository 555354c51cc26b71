/** Human output of the CLI: aligned tables and an agent's details. */
import type { Agent } from '../data/agents.ts';
import type { AgentStatistics } from '../data/statistics.ts';

/** An agent as the CLI prints it: with its owner's email (which only the database owner may read). */
export type AgentRow = Agent & { owner: string | null };

export function table(headers: string[], rows: (string | number | null)[][]): string {
  const cells = rows.map((r) => r.map((c) => (c === null ? '-' : String(c))));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(headers), ...cells.map(line)].join('\n');
}

export function agentTable(agents: AgentRow[]): string {
  if (agents.length === 0) return 'No agents yet. Create one with: mistral-agent-chat agent create --name "My assistant"';
  return table(
    ['ID', 'NAME', 'MODEL', 'TEMP', 'MAX', 'TOP_P', 'ACTIVE', 'ORIGINS', 'OWNER', 'KEY'],
    agents.map((a) => [
      a.id, a.name, a.model, a.temperature, a.max_tokens, a.top_p, a.is_active ? 'yes' : 'no', originsText(a), a.owner, a.api_key,
    ]),
  );
}

const originsText = (a: AgentRow) => (a.allowed_origins?.length ? a.allowed_origins.join(',') : 'any');
const limitText = (n: number | null, unit: string, fallback: string) =>
  n === null ? fallback : n === 0 ? 'unlimited' : `${n} ${unit}`;

export function agentDetails(a: AgentRow): string {
  const rows: [string, string | number | null][] = [
    ['id', a.id],
    ['name', a.name],
    ['role', a.role],
    ['owner', a.owner],
    ['model', a.model],
    ['temperature', a.temperature],
    ['max_tokens', a.max_tokens],
    ['top_p', a.top_p],
    ['active', a.is_active ? 'yes' : 'no'],
    ['origins', originsText(a)],
    ['per session', limitText(a.rate_limit_session_per_minute, 'turns/min', 'default (20 turns/min)')],
    ['per IP', limitText(a.rate_limit_ip_per_minute, 'turns/min', 'default (60 turns/min)')],
    ['daily tokens', a.daily_token_budget === null ? 'unlimited' : String(a.daily_token_budget)],
    ['mistral id', a.mistral_agent_id],
    ['identity', `${a.has_identity_secret ? 'secret set' : 'no secret'}${a.identity_required ? ', required' : ''}`],
    ['key', a.api_key],
    ['instructions', a.instructions],
  ];
  return rows.map(([k, v]) => `${k.padEnd(13)}${v === null ? '-' : String(v)}`).join('\n');
}

export function statsTable(rows: AgentStatistics[]): string {
  if (rows.length === 0) return 'No agents yet.';
  return table(
    ['AGENT', 'NAME', 'CONVERSATIONS', 'MESSAGES', 'USER', 'ASSISTANT', 'TOKENS', 'AVG_MS', 'LAST_CONVERSATION'],
    rows.map((r) => [
      r.agent_id,
      r.name,
      r.total_conversations,
      r.total_messages,
      r.user_messages,
      r.assistant_messages,
      r.total_tokens_used,
      r.avg_response_time_ms,
      r.last_conversation_date,
    ]),
  );
}
