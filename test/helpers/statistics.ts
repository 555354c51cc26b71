/**
 * The exactness oracle for agent_statistics: the seed's own query over the raw tables (docs
 * database-schema.md, verbatim), plus the ratings counted through the messages they rate; and the same
 * per UTC day for the daily series. Figures are compared as text, so 12.5 and 12.50 differ, as do 0 and
 * null. Used by the tests and by `npm run bench` (bench/parts/data.ts).
 */
import assert from 'node:assert/strict';
import type { Db } from '../../src/server/db/db.ts';
import { as, type Tx, type Who } from './as-role.ts';

/** The seed document's agent_statistics query, as written there. */
export const SEED_STATISTICS_QUERY = `
SELECT
    a.id as agent_id,
    a.user_id,
    a.name,
    COUNT(DISTINCT c.id) as total_conversations,
    COUNT(m.id) as total_messages,
    SUM(CASE WHEN m.role = 'user' THEN 1 ELSE 0 END) as user_messages,
    SUM(CASE WHEN m.role = 'assistant' THEN 1 ELSE 0 END) as assistant_messages,
    SUM(m.tokens_used) as total_tokens_used,
    AVG(m.response_time_ms) as avg_response_time_ms,
    MAX(c.created_at) as last_conversation_date
FROM agents a
LEFT JOIN conversations c ON c.agent_id = a.id
LEFT JOIN messages m ON m.conversation_id = c.id
GROUP BY a.id, a.user_id, a.name`;

const TEXT_COLUMNS = `agent_id::text as agent_id, user_id::text as user_id, name::text as name,
  total_conversations::text as total_conversations, total_messages::text as total_messages,
  user_messages::text as user_messages, assistant_messages::text as assistant_messages,
  total_tokens_used::text as total_tokens_used, avg_response_time_ms::text as avg_response_time_ms,
  last_conversation_date::text as last_conversation_date, positive_feedback::text as positive_feedback,
  negative_feedback::text as negative_feedback`;

/** The seed's query (with the ratings added) as the reference rows, every figure as text, by agent. */
export const REFERENCE_STATISTICS_SQL = `
select ${TEXT_COLUMNS}
from (
  select s.*, coalesce(r.positive_feedback, 0) as positive_feedback, coalesce(r.negative_feedback, 0) as negative_feedback
  from (${SEED_STATISTICS_QUERY}) s
  left join (
    select c.agent_id,
           count(*) filter (where f.rating = 'up') as positive_feedback,
           count(*) filter (where f.rating = 'down') as negative_feedback
    from public.message_feedback f
    join public.messages m on m.id = f.message_id
    join public.conversations c on c.id = m.conversation_id
    group by c.agent_id
  ) r on r.agent_id = s.agent_id
) x
order by agent_id`;

export const VIEW_STATISTICS_SQL = `select ${TEXT_COLUMNS} from public.agent_statistics order by agent_id`;

/** Per agent and UTC day over the raw tables; days where nothing counts are left out. */
export const REFERENCE_DAILY_SQL = `
with d as (
  select c.agent_id, least((c.created_at at time zone 'utc')::date, date '9999-12-31') as day,
         1 as conversations, 0 as user_messages, 0 as assistant_messages, null::integer as tokens_used,
         null::integer as response_time_ms, 0 as positive_feedback, 0 as negative_feedback
  from public.conversations c
  union all
  select c.agent_id, least((m.created_at at time zone 'utc')::date, date '9999-12-31'),
         0, (m.role = 'user')::int, (m.role = 'assistant')::int, m.tokens_used, m.response_time_ms, 0, 0
  from public.messages m join public.conversations c on c.id = m.conversation_id
  union all
  select c.agent_id, least((f.created_at at time zone 'utc')::date, date '9999-12-31'),
         0, 0, 0, null, null, (f.rating = 'up')::int, (f.rating = 'down')::int
  from public.message_feedback f
  join public.messages m on m.id = f.message_id
  join public.conversations c on c.id = m.conversation_id
)
select agent_id::text as agent_id, day::text as day, sum(conversations)::text as conversations,
       sum(user_messages)::text as user_messages, sum(assistant_messages)::text as assistant_messages,
       coalesce(sum(tokens_used), 0)::text as tokens_used, avg(response_time_ms)::text as avg_response_time_ms,
       sum(positive_feedback)::text as positive_feedback, sum(negative_feedback)::text as negative_feedback
from d
group by agent_id, day
order by agent_id, day`;

export const VIEW_DAILY_SQL = `
select agent_id::text as agent_id, day::text as day, conversations::text as conversations,
       user_messages::text as user_messages, assistant_messages::text as assistant_messages,
       tokens_used::text as tokens_used, avg_response_time_ms::text as avg_response_time_ms,
       positive_feedback::text as positive_feedback, negative_feedback::text as negative_feedback
from public.agent_daily_statistics
where conversations <> 0 or user_messages <> 0 or assistant_messages <> 0 or tokens_used <> 0
   or avg_response_time_ms is not null or positive_feedback <> 0 or negative_feedback <> 0
order by agent_id, day`;

export type Row = Record<string, string | null>;

/** Reference and view rows, read in one transaction (as `who`, or as the connection's own role). */
export async function statisticsPair(db: Db, who?: Who): Promise<{ expected: Row[]; actual: Row[] }> {
  const read = async (tx: Tx) => ({
    expected: (await tx.query<Row>(REFERENCE_STATISTICS_SQL)).rows,
    actual: (await tx.query<Row>(VIEW_STATISTICS_SQL)).rows,
  });
  return who ? as(db, who, read) : db.transaction(read);
}

/** agent_statistics equals the seed's query (and the daily series its per-day counterpart). */
export async function assertStatisticsExact(db: Db, label = '', who?: Who): Promise<void> {
  const { expected, actual } = await statisticsPair(db, who);
  assert.deepEqual(actual, expected, `agent_statistics equals the seed query${label ? ` (${label})` : ''}`);
  const daily = await (who ? as(db, who, dailyPair) : db.transaction(dailyPair));
  assert.deepEqual(daily.actual, daily.expected, `agent_daily_statistics equals per-day counts${label ? ` (${label})` : ''}`);
}

async function dailyPair(tx: Tx): Promise<{ expected: Row[]; actual: Row[] }> {
  return {
    expected: (await tx.query<Row>(REFERENCE_DAILY_SQL)).rows,
    actual: (await tx.query<Row>(VIEW_DAILY_SQL)).rows,
  };
}
