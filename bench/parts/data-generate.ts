/**
 * The data part's dataset: N messages in PostgreSQL with the shape of a real deployment, written with
 * set-based SQL (generate_series) in a few minutes at 10 M: one owner per 5,000 messages, one agent per
 * 2,000, agents' sizes skewed (the biggest holds about 6 % of all conversations, most hold a few),
 * conversations of 1 to ~60 messages (mean ~10; 5 % end on an unanswered visitor message) spread over 400
 * days, visitor questions and longer replies (~430 characters), tokens on most messages, response times on
 * replies, ratings on 3 % of replies (80 % up), a 90-day retention on one agent in ten.
 * Triggers are off while loading (session_replication_role = replica: this needs a superuser, as the
 * bench's local PostgreSQL is) and the counters are rebuilt afterwards, as after a restore.
 */
import type pg from 'pg';

export interface GeneratedData {
  messages: number;
  conversations: number;
  agents: number;
  owners: number;
  ratings: number;
  seconds: number;
  bytes: number;
}

export async function generateData(client: pg.Client, n: number): Promise<GeneratedData> {
  const started = performance.now();
  const owners = Math.max(2, Math.round(n / 5_000));
  const agents = Math.max(4, Math.round(n / 2_000));
  const conversations = Math.max(10, Math.round(n / 10));
  await client.query('set session_replication_role = replica');
  await client.query('set synchronous_commit = off');
  try {
    await client.query(
      `insert into auth.users (email) select 'owner' || i || '@bench.test' from generate_series(0, $1 - 1) i`,
      [owners],
    );
    await client.query(
      `insert into public.agents (user_id, name, api_key, retention_days, rate_limit_session_per_minute,
                                  rate_limit_ip_per_minute, daily_token_budget)
       select u.id, 'Agent ' || a, 'mac_bench_data_' || a, case when a % 10 = 0 then 90 end, 1000000, 1000000, 2000000000
       from generate_series(0, $2 - 1) a
       join auth.users u on u.email = 'owner' || (a % $1) || '@bench.test'`,
      [owners, agents],
    );
    // the plan: which agent (skewed: random()^3), when, how many messages
    await client.query(
      `create unlogged table public.bench_plan as
       select gen_random_uuid() as id, floor($2 * power(random(), 3))::int as agent_i,
              now() - (random() * 400) * interval '1 day' as started,
              greatest(1, (2 * (1 + floor(-ln(1 - random()) * 4.5)))::int - (random() < 0.05)::int) as n
       from generate_series(1, $1)`,
      [conversations, agents],
    );
    await client.query(
      `insert into public.conversations (id, agent_id, session_id, visitor_id, metadata, created_at, updated_at)
       select p.id, a.id, 'sess_' || replace(p.id::text, '-', ''), 'vis_' || substr(md5(p.id::text), 1, 12),
              jsonb_build_object('page', '/help/' || (p.agent_i % 7)), p.started, p.started + (p.n - 1) * interval '40 seconds'
       from public.bench_plan p join public.agents a on a.api_key = 'mac_bench_data_' || p.agent_i`,
    );
    await client.query(
      `insert into public.messages (conversation_id, role, content, tokens_used, response_time_ms, created_at)
       select p.id,
              case when k % 2 = 1 then 'user' else 'assistant' end,
              case when k % 2 = 1
                then (array['How do I reset my password?', 'Where is my order number ',
                            'Can I change the delivery address for order ', 'Do you ship to Belgium? My postcode is ',
                            'The invoice total looks wrong, reference '])[1 + abs(hashint4(k + p.agent_i)) % 5]
                     || (abs(hashint4(k * 31 + p.agent_i)) % 100000)::text
                else repeat('Thanks for asking. Here is what you can do: open Settings, then Account, and follow the steps. ', 2 + (k % 6))
                     || (abs(hashint4(k * 17 + p.agent_i)) % 1000000)::text
              end,
              case when random() < 0.05 then null when k % 2 = 1 then 40 + (k * 37 % 1500) else 20 + (k * 53 % 600) end,
              case when k % 2 = 0 then 300 + (k * 71 % 4700) end,
              p.started + (k - 1) * interval '40 seconds'
       from public.bench_plan p cross join lateral generate_series(1, p.n) k`,
    );
    await client.query(
      `insert into public.message_feedback (message_id, conversation_id, rating, created_at)
       select m.id, m.conversation_id, case when random() < 0.8 then 'up' else 'down' end, m.created_at + interval '1 minute'
       from public.messages m where m.role = 'assistant' and random() < 0.03`,
    );
    await client.query('drop table public.bench_plan');
  } finally {
    await client.query('set session_replication_role = origin');
  }
  await client.query('select public.rebuild_agent_statistics()');
  await client.query('vacuum analyze');
  const counts = await client.query<{ messages: string; conversations: string; ratings: string; bytes: string }>(
    `select (select count(*) from public.messages) as messages, (select count(*) from public.conversations) as conversations,
            (select count(*) from public.message_feedback) as ratings, pg_database_size(current_database()) as bytes`,
  );
  const c = counts.rows[0]!;
  return {
    messages: Number(c.messages),
    conversations: Number(c.conversations),
    agents,
    owners,
    ratings: Number(c.ratings),
    seconds: Math.round((performance.now() - started) / 1000),
    bytes: Number(c.bytes),
  };
}
