/**
 * The owner data module (src/server/data/): the operations the CLI runs as the database owner run unchanged
 * as an owner inside `asOwner` (role authenticated + JWT claims), where row level security alone decides:
 * another owner's agent is simply not found, and nothing needs superuser rights.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Db } from '../../src/server/db/db.ts';
import {
  NotFoundError,
  createAgent,
  deleteAgent,
  getAgent,
  listAgents,
  rotateKey,
  setActive,
  updateAgent,
} from '../../src/server/data/agents.ts';
import { asOwner } from '../../src/server/data/as-owner.ts';
import { ensureDemoAgent, firstActiveAgent } from '../../src/server/data/demo.ts';
import { ensureOwner, ownerEmails } from '../../src/server/data/owners.ts';
import { agentStatistics } from '../../src/server/data/statistics.ts';
import { migratedTestDatabase, pgSkip, type MigratedDb } from '../helpers/pg.ts';
import { migratedPgliteDb } from '../helpers/pglite.ts';

const pgSkipReason = await pgSkip();

function dataSuite(name: string, open: () => Promise<MigratedDb>, skip: string | false = false) {
  describe(name, { skip }, () => {
    let o: MigratedDb;
    let db: Db;
    let alice: string;
    let bob: string;
    before(async () => {
      o = await open();
      db = o.db;
      alice = await ensureOwner(db, 'alice@example.test');
      bob = await ensureOwner(db, 'bob@example.test');
    });
    after(() => o?.cleanup());

    it('creates, reads, changes, rotates, disables and deletes an agent as the database owner (the CLI)', async () => {
      const made = await createAgent(db, { name: 'Shop bot', temperature: 0.3, allowed_origins: ['https://shop.example.test'] }, { userId: alice });
      assert.equal(made.user_id, alice);
      assert.equal(made.temperature, 0.3, 'numbers come back as numbers');
      assert.equal(made.max_tokens, 1024, 'column defaults apply');
      assert.equal(made.has_identity_secret, false);
      assert.ok(!('identity_secret' in made), 'the identity secret never leaves the database');
      assert.deepEqual(await getAgent(db, made.api_key), made, 'found by key as by id');
      const changed = await updateAgent(db, made.id, { name: 'Shop helper', daily_token_budget: 5000 });
      assert.equal(changed.name, 'Shop helper');
      assert.equal(changed.temperature, 0.3, 'other settings untouched');
      const rotated = await rotateKey(db, made.id);
      assert.notEqual(rotated.api_key, made.api_key);
      await assert.rejects(getAgent(db, made.api_key), NotFoundError);
      assert.equal((await setActive(db, rotated.api_key, false)).is_active, false);
      assert.equal((await ownerEmails(db, [alice, bob])).get(alice), 'alice@example.test');
      await deleteAgent(db, made.id);
      await assert.rejects(getAgent(db, made.id), /no agent with id/);
    });

    it('refuses a setting that is not a column before it reaches SQL', async () => {
      await assert.rejects(
        createAgent(db, JSON.parse('{"name":"x","user_id = null; --":"y"}') as { name: string }, { userId: alice }),
        /not an agent setting/,
      );
    });

    it('runs the same operations as an owner, where row level security decides what exists', async () => {
      const bobs = await createAgent(db, { name: "Bob's agent" }, { userId: bob });
      const mine = await asOwner(db, alice, (q) => createAgent(q, { name: "Alice's agent" }));
      assert.equal(mine.user_id, alice, 'the owner is the caller, not a parameter');
      await asOwner(db, alice, async (q) => {
        const names = (await listAgents(q)).map((a) => a.name);
        assert.ok(names.includes("Alice's agent"));
        assert.ok(!names.includes("Bob's agent"), "another owner's agent is not listed");
        await assert.rejects(getAgent(q, bobs.id), NotFoundError);
        await assert.rejects(updateAgent(q, bobs.id, { name: 'taken over' }), NotFoundError);
        await assert.rejects(rotateKey(q, bobs.api_key), NotFoundError);
        await assert.rejects(setActive(q, bobs.id, false), NotFoundError);
        await assert.rejects(deleteAgent(q, bobs.id), NotFoundError);
        assert.equal((await rotateKey(q, mine.id)).user_id, alice, 'their own agent, they may change');
        const stats = await agentStatistics(q);
        assert.ok(stats.every((r) => r.user_id === alice) && stats.some((r) => r.agent_id === mine.id), JSON.stringify(stats));
      });
      // An owner cannot give an agent away or create one for someone else: the policies' WITH CHECK.
      await assert.rejects(asOwner(db, alice, (q) => updateAgent(q, mine.id, {}, { userId: bob })), /row-level security/);
      await assert.rejects(asOwner(db, alice, (q) => createAgent(q, { name: 'for Bob' }, { userId: bob })), /row-level security/);
      const untouched = await getAgent(db, bobs.id);
      assert.deepEqual([untouched.name, untouched.api_key, untouched.is_active], ["Bob's agent", bobs.api_key, true]);
    });

    it('creates the demo agent once, on an empty database only', async () => {
      const first = await ensureDemoAgent(db);
      assert.equal(first.created, false, 'agents exist already: nothing is created');
      assert.equal(first.agent?.id, (await firstActiveAgent(db))?.id);
    });
  });
}

dataSuite('owner data module on PGlite', migratedPgliteDb);
dataSuite('owner data module on PostgreSQL', () => migratedTestDatabase(), pgSkipReason);
