/**
 * The owner API's two hot answers through the real app on the data part's big database: what the console
 * waits for, with the HTTP handling, the token check, the owner's transaction (`set local role
 * authenticated`, RLS) and the JSON around the SQL that data.statistics_ms and data.inbox_ms time alone.
 * In-process (app.request): no socket, so the figure is the server's own time.
 */
import { createApp } from '../../src/server/app.ts';
import { loadConfig } from '../../src/server/config.ts';
import { openPostgres } from '../../src/server/db/postgres.ts';
import { memoryLogger } from '../../src/server/log.ts';
import { createOwnerApi } from '../../src/server/owner/owner-api.ts';
import { issueLocalToken } from '../../src/server/owner/tokens.ts';
import { SqlStore } from '../../src/server/store/sql-store.ts';

export interface OwnerHttpTimes {
  statistics: number[];
  inbox: number[];
}

/** Times `GET /v1/owner/statistics` and `GET /v1/owner/agents/{id}/conversations?limit=50` as the agent's owner. */
export async function ownerHttpTimes(url: string, who: { user_id: string; agent_id: string }, times: number): Promise<OwnerHttpTimes> {
  const secret = 'bench-owner-jwt-secret-0123456789abcdef';
  const config = loadConfig({ OWNER_JWT_SECRET: secret });
  const db = openPostgres(url, { max: 2 });
  const store = new SqlStore(db);
  try {
    const owner = createOwnerApi({ config, storage: { db } });
    const { app } = createApp({ store, upstream: null, config, log: memoryLogger(), owner });
    const headers = { Authorization: `Bearer ${await issueLocalToken(secret, { id: who.user_id, email: null })}` };
    const time = async (path: string): Promise<number[]> => {
      const out: number[] = [];
      // one untimed call first: the pool's connections and the plans are warm, as on a running server
      for (let i = -1; i < times; i++) {
        const t0 = performance.now();
        const res = await app.request(path, { headers });
        const body = await res.text();
        const ms = performance.now() - t0;
        if (res.status !== 200) throw new Error(`${path} answered ${res.status}: ${body.slice(0, 300)}`);
        if (i >= 0) out.push(ms);
      }
      return out;
    };
    return {
      statistics: await time('/v1/owner/statistics'),
      inbox: await time(`/v1/owner/agents/${who.agent_id}/conversations?limit=50`),
    };
  } finally {
    await store.close();
  }
}
