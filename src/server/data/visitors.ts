/**
 * A visitor's data on request (erasure): every conversation of one widget visitor (visitor_id) with one agent,
 * its messages and ratings, through the service-role function of migration 00006; statistics follow.
 */
import type { Executor } from './agents.ts';

/** Deletes the visitor's conversations with the agent; resolves to how many there were (0: nothing to erase). */
export async function eraseVisitor(q: Executor, agentId: string, visitorId: string): Promise<number> {
  const { rows } = await q.query<{ erased: number }>('select public.erase_visitor($1, $2) as erased', [agentId, visitorId]);
  return Number(rows[0]?.erased ?? 0);
}
