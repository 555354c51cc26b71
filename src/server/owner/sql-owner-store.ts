/** OwnerStore over a Db (pg or PGlite): each call is one transaction run as the owner (data/as-owner.ts). */
import type { Db } from '../db/db.ts';
import { asOwner } from '../data/as-owner.ts';
import { fieldOfError, OwnerStoreError, type OwnerFunction, type OwnerFunctions, type OwnerStore } from './owner-store.ts';
import type { OwnerIdentity } from './tokens.ts';

/** jsonb parameters are sent as JSON text and cast (both drivers agree on text). */
const JSONB_PARAMS = new Set(['p_fields']);

export class SqlOwnerStore implements OwnerStore {
  readonly kind = 'sql' as const;

  /** @param db The Db, or a function giving it (the Node server's database may come up after it listens). */
  constructor(private readonly db: Db | (() => Db)) {}

  async call<F extends OwnerFunction>(owner: OwnerIdentity, fn: F, args: OwnerFunctions[F]): Promise<unknown> {
    const db = typeof this.db === 'function' ? this.db() : this.db;
    const entries = Object.entries(args);
    // Named arguments: the same call PostgREST makes. Names come from OwnerFunctions, never from a request.
    const named = entries.map(([k], i) => `${k} => $${i + 1}${JSONB_PARAMS.has(k) ? '::jsonb' : ''}`).join(', ');
    const params = entries.map(([k, v]) => (JSONB_PARAMS.has(k) ? JSON.stringify(v) : v));
    try {
      return await asOwner(
        db,
        owner.id,
        async (q) => (await q.query<{ r: unknown }>(`select public.${fn}(${named}) as r`, params)).rows[0]?.r ?? null,
        owner.claims,
      );
    } catch (err) {
      const e = err as { code?: string; message?: string; hint?: string; constraint?: string };
      if (typeof e.code === 'string') throw new OwnerStoreError(e.message ?? String(err), e.code, fieldOfError(e), { cause: err });
      throw err;
    }
  }
}
