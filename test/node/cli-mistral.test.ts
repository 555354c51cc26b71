/**
 * Setting up grounded answers from the command line, against a stand-in of Mistral's Libraries and Agents
 * APIs and an embedded database: libraries (create, list, upload, status), linking an agent to a Mistral
 * agent made from its row, and the errors an owner meets (no key, a wrong key, an unknown agent, library or
 * file, a file Mistral rejects). Runs `main()` in process, as the bin does.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createAgent, getAgent } from '../../src/server/data/agents.ts';
import { ensureOwner } from '../../src/server/data/owners.ts';
import { main } from '../../src/server/cli/main.ts';
import { openDb } from '../../src/server/db/open.ts';
import { migrate } from '../../src/server/db/migrate.ts';
import { agentBody, documentState, MistralAdmin, MistralAdminError, mimeType } from '../../src/server/mistral-admin/client.ts';
import { DOCS_DEMO_AGENT_ID } from '../../src/server/upstream/builtin-agents.ts';
import { startAdminStandIn, type AdminStandIn } from '../helpers/mistral-admin-stand-in.ts';

let dir: string;
let mistral: AdminStandIn;
let agentId: string;

interface Ran {
  code: number | undefined;
  out: string;
  err: string;
}

async function run(args: string[], env: Record<string, string | undefined> = {}): Promise<Ran> {
  let out = '';
  let err = '';
  const code = await main(args, { DATA_DIR: join(dir, 'data'), MISTRAL_API_KEY: mistral.apiKey, MISTRAL_BASE_URL: mistral.url, MISTRAL_POLL_MS: '5', ...env }, {
    out: (t) => void (out += `${t}\n`),
    err: (t) => void (err += `${t}\n`),
  });
  return { code, out, err };
}

const json = async <T>(args: string[]): Promise<T> => {
  const r = await run([...args, '--json']);
  assert.equal(r.code, 0, r.err);
  return JSON.parse(r.out) as T;
};

async function withDb<T>(fn: (db: Awaited<ReturnType<typeof openDb>>) => Promise<T>): Promise<T> {
  const db = await openDb({ dataDir: join(dir, 'data') });
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mac-cli-mistral-'));
  mistral = await startAdminStandIn({ libraryPageSize: 2 });
  agentId = await withDb(async (db) => {
    await migrate(db);
    const userId = await ensureOwner(db, 'owner@example.test');
    const a = await createAgent(db, { name: 'Support', instructions: 'Answer from the handbook.', model: 'mistral-medium-latest', temperature: 0.3, top_p: 0.9, max_tokens: 512 }, { userId });
    return a.id;
  });
});
after(async () => {
  await mistral?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('library commands', () => {
  let lib: string;

  it('say clearly that MISTRAL_API_KEY is missing', async () => {
    for (const args of [['library', 'list'], ['library', 'create', '--name', 'x'], ['agent', 'link-mistral', agentId]]) {
      const r = await run(args, { MISTRAL_API_KEY: undefined });
      assert.equal(r.code, 1, args.join(' '));
      assert.match(r.err, /MISTRAL_API_KEY is not set/);
    }
  });

  it('say clearly that Mistral rejected the key', async () => {
    const r = await run(['library', 'list'], { MISTRAL_API_KEY: 'sk-wrong' });
    assert.equal(r.code, 1);
    assert.match(r.err, /Mistral rejected MISTRAL_API_KEY \(401: Unauthorized/);
    assert.doesNotMatch(r.err, /sk-wrong/);
  });

  it('create a library and list it (all pages)', async () => {
    const made = await run(['library', 'create', '--name', 'Handbook', '--description', 'HR documents']);
    assert.equal(made.code, 0, made.err);
    lib = /\(([0-9a-f-]{36})\)/.exec(made.out)![1]!;
    assert.match(made.out, new RegExp(`library upload ${lib}`));
    await json(['library', 'create', '--name', 'Second']);
    await json(['library', 'create', '--name', 'Third']);
    const libs = await json<{ id: string; name: string }[]>(['library', 'list']);
    assert.deepEqual(libs.map((l) => l.name), ['Handbook', 'Second', 'Third'], 'pages of two, followed by next_page_token');
    const table = await run(['library', 'list']);
    assert.match(table.out, /^ID\s+NAME\s+DOCUMENTS\s+SIZE/);
    assert.equal((await run(['library', 'create'])).code, 2, '--name is required');
  });

  it('upload files as the multipart part "file", report each, and exit 1 when one could not be added', async () => {
    const files = { 'policy.md': '# Remote work\n\nUp to €500.', 'faq.txt': 'Q: leave? A: 25 days.', 'empty.txt': '', 'virus.exe': 'MZ' };
    for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content);
    const paths = Object.keys(files).map((n) => join(dir, n));
    const r = await run(['library', 'upload', lib, ...paths, join(dir, 'missing.pdf')]);
    assert.equal(r.code, 1);
    assert.match(r.out, /uploaded .*policy\.md → [0-9a-f-]{36} \(todo\)/);
    assert.match(r.out, /uploaded .*faq\.txt/);
    assert.match(r.err, /Mistral rejected empty\.txt \(422: body\.file: File is empty\)/);
    assert.match(r.err, /Mistral rejected virus\.exe \(415: Unsupported file type/);
    assert.match(r.err, /no such file: .*missing\.pdf/);
    assert.match(r.out, /library status .* --wait/);
    const stored = mistral.documents.filter((d) => d.library_id === lib);
    assert.deepEqual(stored.map((d) => [d.name, d.content, d.mime_type]), [
      ['policy.md', '# Remote work\n\nUp to €500.', 'text/markdown'],
      ['faq.txt', 'Q: leave? A: 25 days.', 'text/plain'],
    ]);
    const upload = mistral.requests.find((q) => q.method === 'POST' && q.path.endsWith('/documents'))!;
    assert.match(upload.contentType, /^multipart\/form-data; boundary=/);
    assert.deepEqual([...(upload.body as FormData).keys()], ['file']);
  });

  it('refuse an unknown library once, before any upload', async () => {
    await writeFile(join(dir, 'a.txt'), 'a');
    const before = mistral.documents.length;
    const r = await run(['library', 'upload', '00000000-0000-4000-8000-000000000000', join(dir, 'a.txt')]);
    assert.equal(r.code, 1);
    assert.match(r.err, /no Mistral library with id 00000000-0000-4000-8000-000000000000/);
    assert.equal(mistral.documents.length, before);
    assert.equal((await run(['library', 'status', 'not a uuid!'])).code, 2);
  });

  it('show each document’s processing status, and wait until they are all ready', async () => {
    const first = await run(['library', 'status', lib]);
    assert.equal(first.code, 0);
    assert.match(first.out, /policy\.md\s+processing\s+(todo|in_progress)/);
    const waited = await json<{ documents: { name: string; state: string }[]; ready: number; processing: number; failed: number }>(['library', 'status', lib, '--wait']);
    assert.deepEqual([waited.ready, waited.processing, waited.failed], [2, 0, 0]);
  });

  it('exit 1 from --wait when a document failed', async () => {
    await writeFile(join(dir, 'broken.pdf'), '%PDF-1.4 nope');
    assert.equal((await run(['library', 'upload', lib, join(dir, 'broken.pdf')])).code, 0);
    const r = await run(['library', 'status', lib, '--wait']);
    assert.equal(r.code, 1);
    assert.match(r.out, /broken\.pdf\s+failed\s+error/);
    assert.match(r.out, /2 ready, 0 processing, 1 failed/);
  });

  it('read the deprecated processing_status when process_status is missing', async () => {
    assert.equal(documentState({ processing_status: 'Completed' }), 'ready');
    assert.equal(documentState({ processing_status: 'Running' }), 'processing');
    assert.equal(documentState({ process_status: 'error', processing_status: 'Completed' }), 'failed');
    assert.equal(documentState({ process_status: 'missing_content' }), 'failed');
    assert.equal(documentState({ process_status: 'waiting_for_capacity' }), 'processing');
    const legacy = await startAdminStandIn({ legacyStatus: true, apiKey: 'k' });
    try {
      const c = new MistralAdmin({ apiKey: 'k', baseUrl: legacy.url });
      const l = await c.createLibrary({ name: 'L' });
      await c.uploadDocument(l.id, { name: 'x.txt', data: new TextEncoder().encode('x') });
      const [doc] = await c.listDocuments(l.id);
      assert.equal(doc?.process_status, undefined);
      assert.equal(documentState(doc!), 'processing');
      const status = await c.documentStatus(l.id, doc!.id);
      assert.equal(status.document_id, doc!.id);
      assert.equal(documentState(status), 'processing');
      await assert.rejects(c.documentStatus('nope', doc!.id), /no Mistral library with id nope/);
    } finally {
      await legacy.close();
    }
  });
});

describe('agent link-mistral', () => {
  it('creates a Mistral agent from the row (name, instructions, model, completion args, tools) and stores its id', async () => {
    const lib = [...mistral.libraries.keys()][0]!;
    const r = await run(['agent', 'link-mistral', agentId, '--library', lib, '--web-search']);
    assert.equal(r.code, 0, r.err);
    const [made] = [...mistral.agents.values()];
    assert.deepEqual(
      { name: made!.name, model: made!.model, instructions: made!.instructions, completion_args: made!.completion_args, tools: made!.tools },
      {
        name: 'Support',
        model: 'mistral-medium-latest',
        instructions: 'Answer from the handbook.',
        completion_args: { temperature: 0.3, top_p: 0.9, max_tokens: 512 },
        tools: [{ type: 'document_library', library_ids: [lib] }, { type: 'web_search' }],
      },
    );
    assert.match(r.out, new RegExp(`linked to the created Mistral agent ${made!.id}`));
    assert.match(r.out, /tools: document_library \(.*\), web_search/);
    assert.equal((await withDb((db) => getAgent(db, agentId))).mistral_agent_id, made!.id);
  });

  it('updates the same Mistral agent when run again, keeping its tools unless told otherwise', async () => {
    assert.equal((await run(['agent', 'update', agentId, '--instructions', 'Be brief.'])).code, 0);
    const out = await json<{ action: string; mistral_agent: { id: string; version: number; instructions: string; tools: unknown[] } }>(['agent', 'link-mistral', agentId]);
    assert.equal(out.action, 'updated');
    assert.equal(mistral.agents.size, 1);
    assert.equal(out.mistral_agent.instructions, 'Be brief.');
    assert.equal(out.mistral_agent.version, 1);
    assert.equal(out.mistral_agent.tools.length, 2);
    const patch = mistral.requests.findLast((q) => q.method === 'PATCH')!;
    assert.equal('tools' in (patch.body as object), false);
  });

  it('refuses an unknown agent, an unknown library, or a Mistral agent that does not exist, changing nothing', async () => {
    const before = (await withDb((db) => getAgent(db, agentId))).mistral_agent_id;
    const unknown = await run(['agent', 'link-mistral', '00000000-0000-4000-8000-000000000000']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.err, /no agent with id 00000000-0000-4000-8000-000000000000/);
    const noLib = await run(['agent', 'link-mistral', agentId, '--library', '11111111-1111-4111-8111-111111111111']);
    assert.equal(noLib.code, 1);
    assert.match(noLib.err, /no Mistral library with id 11111111-1111-4111-8111-111111111111/);
    const noAgent = await run(['agent', 'link-mistral', agentId, '--agent-id', 'ag_does_not_exist']);
    assert.equal(noAgent.code, 1);
    assert.match(noAgent.err, /no Mistral agent with id ag_does_not_exist/);
    assert.equal((await run(['agent', 'link-mistral', agentId, '--agent-id', 'ag_x', '--web-search'])).code, 2);
    assert.equal((await withDb((db) => getAgent(db, agentId))).mistral_agent_id, before);
  });

  it('links an existing Mistral agent as it is, or the built-in docs agent without a key, and unlinks', async () => {
    const existing = [...mistral.agents.keys()][0]!;
    const linked = await json<{ action: string; agent: { mistral_agent_id: string } }>(['agent', 'link-mistral', agentId, '--agent-id', existing]);
    assert.deepEqual([linked.action, linked.agent.mistral_agent_id], ['linked', existing]);
    const builtin = await run(['agent', 'link-mistral', agentId, '--agent-id', DOCS_DEMO_AGENT_ID], { MISTRAL_API_KEY: undefined });
    assert.equal(builtin.code, 0, builtin.err);
    assert.equal((await withDb((db) => getAgent(db, agentId))).mistral_agent_id, DOCS_DEMO_AGENT_ID);
    const un = await run(['agent', 'unlink-mistral', agentId]);
    assert.equal(un.code, 0);
    assert.match(un.out, /no longer linked/);
    assert.equal((await withDb((db) => getAgent(db, agentId))).mistral_agent_id, null);
  });

  it('creates a new Mistral agent when the linked one was deleted on Mistral', async () => {
    await withDb((db) => db.query("update public.agents set mistral_agent_id = 'ag_deleted_on_mistral' where id = $1", [agentId]));
    const r = await run(['agent', 'link-mistral', agentId]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /ag_deleted_on_mistral no longer exists: creating a new one/);
    assert.match(r.out, /It has no library/);
  });

  it('documents every new command in --help', async () => {
    for (const args of [['library', '--help'], ['library', 'upload', '--help'], ['library', 'status', '--help'], ['agent', 'link-mistral', '--help'], ['agent', 'unlink-mistral', '--help']]) {
      const r = await run(args);
      assert.equal(r.code, 0, args.join(' '));
      assert.match(r.out, /^Usage: mistral-agent-chat /);
    }
    assert.match((await run(['--help'])).out, /library upload <lib> <file…>/);
  });
});

describe('the Mistral admin client', () => {
  it('maps our row to an agent body, leaving out what is unset', () => {
    assert.deepEqual(agentBody({ name: 'A', instructions: '  ', model: 'm', temperature: null, top_p: null, max_tokens: null }), { name: 'A', model: 'm' });
    assert.deepEqual(agentBody({ name: 'A', instructions: null, model: 'm', temperature: 0, top_p: null, max_tokens: null }, { libraryIds: [], webSearch: false }), {
      name: 'A',
      model: 'm',
      completion_args: { temperature: 0 },
      tools: [],
    });
    assert.equal(mimeType('Guide.PDF'), 'application/pdf');
    assert.equal(mimeType('noext'), 'application/octet-stream');
  });

  it('says when Mistral cannot be reached', async () => {
    const c = new MistralAdmin({ apiKey: 'k', baseUrl: 'http://127.0.0.1:1' });
    await assert.rejects(c.listLibraries(), (e: unknown) => e instanceof MistralAdminError && e.status === null && /could not reach Mistral at http:\/\/127\.0\.0\.1:1/.test(e.message));
  });
});
