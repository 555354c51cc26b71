/**
 * The CLI commands that set up grounded answers on Mistral without its console: document libraries
 * (`library create|list|upload|status`) and linking an agent to a Mistral agent made from its row
 * (`agent link-mistral|unlink-mistral`). They call Mistral with MISTRAL_API_KEY (MISTRAL_BASE_URL honoured).
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { loadConfig } from '../config.ts';
import { agentBody, documentState, MistralAdmin, type LibraryDocument, type MistralAgent } from '../mistral-admin/client.ts';
import { DOCS_DEMO_AGENT_ID } from '../upstream/builtin-agents.ts';
import * as agents from '../data/agents.ts';
import { UsageError, agentRef, noPositionals, parse } from './args.ts';
import { withDb, type Io } from './commands.ts';

type Env = Record<string, string | undefined>;

/** Thrown for what the owner must fix (exit 1 with the message). */
export class SetupError extends Error {}

function client(env: Env): MistralAdmin {
  const config = loadConfig(env);
  if (!config.mistralApiKey) {
    throw new SetupError('MISTRAL_API_KEY is not set: the library and link-mistral commands call Mistral\'s API with it (export MISTRAL_API_KEY=…).');
  }
  return new MistralAdmin({ apiKey: config.mistralApiKey, baseUrl: config.mistralBaseUrl });
}

const LIBRARY_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

function libraryId(value: string | undefined, cmd: string): string {
  if (value === undefined) throw new UsageError('missing the library id (see "library list")', cmd);
  if (!LIBRARY_ID.test(value)) throw new UsageError(`"${value}" is not a library id`, cmd);
  return value;
}

const pad = (rows: string[][]) => {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
};
const size = (n: number | undefined) => (n === undefined ? '-' : n < 1024 ? `${n} B` : n < 1024 ** 2 ? `${(n / 1024).toFixed(1)} KB` : `${(n / 1024 ** 2).toFixed(1)} MB`);
const statusOf = (d: LibraryDocument) => String(d.process_status ?? d.processing_status ?? 'unknown');

function documentsTable(docs: LibraryDocument[]): string {
  if (docs.length === 0) return 'No documents yet.';
  return pad([['NAME', 'STATE', 'STATUS', 'SIZE', 'ID'], ...docs.map((d) => [d.name, documentState(d), statusOf(d), size(d.size), d.id])]);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function libraryCommand(sub: string | undefined, args: string[], env: Env, io: Io): Promise<number> {
  const cmd = `library ${sub}`;
  switch (sub) {
    case 'create': {
      const { values, positionals } = parse(cmd, args, { name: { type: 'string' }, description: { type: 'string' } });
      noPositionals(positionals, cmd);
      const name = typeof values.name === 'string' ? values.name.trim() : '';
      if (!name) throw new UsageError('--name is required', cmd);
      const lib = await client(env).createLibrary({ name, ...(typeof values.description === 'string' ? { description: values.description } : {}) });
      if (values.json) io.out(JSON.stringify(lib, null, 2));
      else {
        io.out(`Created library "${lib.name}" (${lib.id}).`);
        io.out(`Add files:   mistral-agent-chat library upload ${lib.id} <file…>`);
        io.out(`Then ground an agent on it: mistral-agent-chat agent link-mistral <agent> --library ${lib.id}`);
      }
      return 0;
    }
    case 'list': {
      const { values, positionals } = parse(cmd, args, {});
      noPositionals(positionals, cmd);
      const libs = await client(env).listLibraries();
      if (values.json) io.out(JSON.stringify(libs, null, 2));
      else io.out(libs.length ? pad([['ID', 'NAME', 'DOCUMENTS', 'SIZE'], ...libs.map((l) => [l.id, l.name, String(l.nb_documents ?? '-'), size(l.total_size)])]) : 'No libraries yet: mistral-agent-chat library create --name "Docs"');
      return 0;
    }
    case 'upload': {
      const { values, positionals } = parse(cmd, args, {});
      const [id, ...files] = positionals;
      const lib = libraryId(id, cmd);
      if (files.length === 0) throw new UsageError('give at least one file to upload', cmd);
      const mistral = client(env);
      await mistral.getLibrary(lib); // an unknown library fails here, once, not once per file
      const results: { file: string; document?: LibraryDocument; error?: string }[] = [];
      for (const path of files) {
        let data: Uint8Array;
        try {
          data = await readFile(path);
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          results.push({ file: path, error: code === 'ENOENT' ? `no such file: ${path}` : `cannot read ${path} (${code ?? String(err)})` });
          if (!values.json) io.err(`error: ${results.at(-1)!.error}`);
          continue;
        }
        try {
          const document = await mistral.uploadDocument(lib, { name: basename(path), data });
          results.push({ file: path, document });
          if (!values.json) io.out(`uploaded ${path} → ${document.id} (${statusOf(document)})`);
        } catch (err) {
          results.push({ file: path, error: (err as Error).message });
          if (!values.json) io.err(`error: ${(err as Error).message}`);
        }
      }
      const failed = results.filter((r) => r.error).length;
      if (values.json) io.out(JSON.stringify(results, null, 2));
      else if (failed < results.length) io.out(`Mistral processes the files for a while: mistral-agent-chat library status ${lib} --wait`);
      return failed ? 1 : 0;
    }
    case 'status': {
      const { values, positionals } = parse(cmd, args, { wait: { type: 'boolean' }, timeout: { type: 'string' } });
      const lib = libraryId(positionals[0], cmd);
      if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}"`, cmd);
      const timeoutS = values.timeout === undefined ? 600 : Number(values.timeout);
      if (!Number.isFinite(timeoutS) || timeoutS <= 0) throw new UsageError(`--timeout must be a number of seconds, got "${String(values.timeout)}"`, cmd);
      const mistral = client(env);
      await mistral.getLibrary(lib);
      const deadline = Date.now() + timeoutS * 1000;
      let docs = await mistral.listDocuments(lib);
      while (values.wait && docs.some((d) => documentState(d) === 'processing') && Date.now() < deadline) {
        await sleep(Number(env.MISTRAL_POLL_MS) || 2_000);
        docs = await mistral.listDocuments(lib);
      }
      const counts = { ready: 0, processing: 0, failed: 0 };
      for (const d of docs) counts[documentState(d)]++;
      if (values.json) io.out(JSON.stringify({ documents: docs.map((d) => ({ ...d, state: documentState(d) })), ...counts }, null, 2));
      else io.out(`${documentsTable(docs)}\n\n${counts.ready} ready, ${counts.processing} processing, ${counts.failed} failed.`);
      // --wait answers "is it usable?": not when something failed or is still processing.
      return values.wait && (counts.failed > 0 || counts.processing > 0) ? 1 : 0;
    }
    default:
      throw new UsageError(sub === undefined ? 'missing the library subcommand' : `unknown library subcommand "${sub}"`, 'library');
  }
}

/** `agent link-mistral` and `agent unlink-mistral`. */
export async function mistralAgentCommand(sub: 'link-mistral' | 'unlink-mistral', args: string[], env: Env, io: Io): Promise<number> {
  const cmd = `agent ${sub}`;
  if (sub === 'unlink-mistral') {
    const { values, positionals } = parse(cmd, args, {});
    const ref = agentRef(positionals, cmd);
    const agent = await withDb(env, io, cmd, (db) => agents.updateAgent(db, ref, { mistral_agent_id: null }));
    if (values.json) io.out(JSON.stringify(agent, null, 2));
    else io.out(`Agent "${agent.name}" is no longer linked to a Mistral agent: it answers with its own instructions (chat completions).`);
    return 0;
  }

  const { values, positionals } = parse(cmd, args, {
    library: { type: 'string', multiple: true },
    'web-search': { type: 'boolean' },
    'agent-id': { type: 'string' },
  });
  const ref = agentRef(positionals, cmd);
  const libraries = (values.library as unknown as string[] | undefined) ?? [];
  for (const id of libraries) libraryId(id, cmd);
  const existing = typeof values['agent-id'] === 'string' ? values['agent-id'] : undefined;
  if (existing !== undefined && (libraries.length || values['web-search'])) {
    throw new UsageError('--agent-id links an existing Mistral agent as it is: give it without --library or --web-search', cmd);
  }
  if (existing !== undefined && !/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,254}$/.test(existing)) throw new UsageError(`"${existing}" is not a Mistral agent id`, cmd);
  const tools = libraries.length || values['web-search'] ? { libraryIds: libraries, webSearch: Boolean(values['web-search']) } : undefined;
  // The built-in docs agent is ours, not Mistral's: linking it needs no key.
  const mistral = existing === DOCS_DEMO_AGENT_ID ? null : client(env);

  return withDb(env, io, cmd, async (db) => {
    const row = await agents.getAgent(db, ref);
    let linked: MistralAgent | null = null;
    let action: 'linked' | 'created' | 'updated';
    if (existing !== undefined) {
      if (mistral) linked = await mistral.getAgent(existing);
      action = 'linked';
    } else {
      for (const id of libraries) await mistral!.getLibrary(id);
      const body = agentBody(row, tools);
      const current = row.mistral_agent_id && row.mistral_agent_id !== DOCS_DEMO_AGENT_ID ? row.mistral_agent_id : null;
      if (current) {
        try {
          linked = await mistral!.updateAgent(current, body);
          action = 'updated';
        } catch (err) {
          if ((err as { status?: number }).status !== 404) throw err;
          io.err(`The Mistral agent ${current} no longer exists: creating a new one.`);
          linked = await mistral!.createAgent(body);
          action = 'created';
        }
      } else {
        linked = await mistral!.createAgent(body);
        action = 'created';
      }
    }
    const id = linked?.id ?? existing!;
    const agent = await agents.updateAgent(db, row.id, { mistral_agent_id: id });
    if (values.json) {
      io.out(JSON.stringify({ agent, mistral_agent: linked, action }, null, 2));
      return 0;
    }
    const toolText = (linked?.tools ?? []).map((t) => (t.type === 'document_library' ? `document_library (${(t.library_ids ?? []).join(', ')})` : t.type)).join(', ');
    io.out(`Agent "${agent.name}" is ${action === 'linked' ? 'linked to' : `linked to the ${action}`} Mistral agent ${id}.`);
    if (linked) io.out(`  model: ${linked.model}${toolText ? `; tools: ${toolText}` : '; no tools'}`);
    io.out("Its turns now go through Mistral's Conversations API: the Mistral agent's instructions, tools and libraries apply, and replies show their sources.");
    if (action === 'created' && !tools) io.out('It has no library: add one with --library <id> (see "library create").');
    return 0;
  });
}
