/**
 * A local stand-in for Mistral's Libraries and Agents APIs (shared/reference/mistral-conversations.md §3, §5),
 * on 127.0.0.1: libraries with paginated lists, multipart uploads (one part, `file`), documents whose
 * `process_status` moves todo → in_progress → done as they are listed (or to `error`), and agents that
 * can be created, read and patched. Bodies are checked as the API would (unknown fields → 422).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StoredDocument {
  id: string;
  library_id: string;
  name: string;
  size: number;
  mime_type: string;
  /** What was uploaded, to check the multipart body. */
  content: string;
  /** How many listings until done; -1 = fails. */
  stepsLeft: number;
}

export interface StoredAgent {
  id: string;
  name: string;
  model: string;
  instructions?: string | null;
  tools?: { type: string; library_ids?: string[] }[];
  completion_args?: Record<string, unknown>;
  version: number;
}

export interface AdminRequest {
  method: string;
  path: string;
  contentType: string;
  body: unknown;
}

export interface AdminStandIn {
  url: string;
  apiKey: string;
  requests: AdminRequest[];
  libraries: Map<string, { id: string; name: string; description: string | null }>;
  documents: StoredDocument[];
  agents: Map<string, StoredAgent>;
  close(): Promise<void>;
}

export interface AdminStandInOptions {
  apiKey?: string;
  /** Page size of GET /v1/libraries (to exercise next_page_token). */
  libraryPageSize?: number;
  /** Answer documents with the deprecated `processing_status` only. */
  legacyStatus?: boolean;
}

const AGENT_FIELDS = new Set(['instructions', 'tools', 'completion_args', 'model', 'name', 'description', 'handoffs', 'guardrails', 'metadata', 'version_message']);

let seq = 0;
const id = (prefix: string) => `${prefix}${(++seq).toString(16).padStart(8, '0')}-0000-4000-8000-${Date.now().toString(16).padStart(12, '0')}`;

export async function startAdminStandIn(opts: AdminStandInOptions = {}): Promise<AdminStandIn> {
  const apiKey = opts.apiKey ?? 'sk-admin-test';
  const requests: AdminRequest[] = [];
  const libraries = new Map<string, { id: string; name: string; description: string | null; created_at: string }>();
  const documents: StoredDocument[] = [];
  const agents = new Map<string, StoredAgent>();

  const send = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const extraForbidden = (res: ServerResponse, key: string) =>
    send(res, 422, { object: 'error', message: { detail: [{ type: 'extra_forbidden', loc: ['body', key], msg: 'Extra inputs are not permitted' }] }, type: 'invalid_request_error', param: null, code: null });

  const docView = (d: StoredDocument) => {
    const state = d.stepsLeft < 0 ? 'error' : d.stepsLeft === 0 ? 'done' : d.stepsLeft === 1 ? 'in_progress' : 'todo';
    const legacy = state === 'done' ? 'Completed' : state === 'error' ? 'Failed' : 'Running';
    const view: Record<string, unknown> = { id: d.id, library_id: d.library_id, name: d.name, size: d.size, mime_type: d.mime_type, created_at: '2026-01-01T00:00:00Z', processing_status: legacy };
    if (!opts.legacyStatus) view.process_status = state;
    return view;
  };
  const libView = (l: { id: string; name: string; description: string | null; created_at: string }) => {
    const docs = documents.filter((d) => d.library_id === l.id);
    return { ...l, owner_id: null, owner_type: 'Workspace', chunk_size: null, nb_documents: docs.length, total_size: docs.reduce((n, d) => n + d.size, 0), updated_at: l.created_at };
  };

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://x');
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks);
    const contentType = String(req.headers['content-type'] ?? '');
    let body: unknown = undefined;
    if (contentType.startsWith('application/json')) {
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        return send(res, 400, { detail: 'There was an error parsing the body' });
      }
    } else if (contentType.startsWith('multipart/form-data')) {
      body = await new Request('http://x', { method: 'POST', headers: { 'content-type': contentType }, body: raw }).formData();
    }
    requests.push({ method: req.method ?? '', path: url.pathname + url.search, contentType, body });
    if (req.headers.authorization !== `Bearer ${apiKey}`) return send(res, 401, { message: 'Unauthorized', request_id: 'req_standin' });

    const parts = url.pathname.split('/').filter(Boolean); // v1, libraries, {id}, documents, {doc}, status
    if (parts[0] !== 'v1') return send(res, 404, { detail: 'Not Found' });

    if (parts[1] === 'libraries') {
      if (parts.length === 2 && req.method === 'POST') {
        const b = body as Record<string, unknown> | undefined;
        for (const k of Object.keys(b ?? {})) if (!['name', 'description', 'chunk_size', 'owner_type'].includes(k)) return extraForbidden(res, k);
        if (typeof b?.name !== 'string') return send(res, 422, { detail: [{ type: 'missing', loc: ['body', 'name'], msg: 'Field required' }] });
        const lib = { id: id(''), name: b.name, description: typeof b.description === 'string' ? b.description : null, created_at: new Date().toISOString() };
        libraries.set(lib.id, lib);
        return send(res, 201, libView(lib));
      }
      if (parts.length === 2 && req.method === 'GET') {
        const size = opts.libraryPageSize ?? Number(url.searchParams.get('page_size') ?? 100);
        const all = [...libraries.values()];
        const start = Number(url.searchParams.get('page_token') ?? 0);
        const page = all.slice(start, start + size);
        return send(res, 200, { data: page.map(libView), next_page_token: start + size < all.length ? String(start + size) : null });
      }
      const lib = libraries.get(parts[2] ?? '');
      if (!lib) return send(res, 404, { detail: 'Library not found' });
      if (parts.length === 3 && req.method === 'GET') return send(res, 200, libView(lib));
      if (parts[3] === 'documents' && parts.length === 4 && req.method === 'POST') {
        if (!(body instanceof FormData)) return send(res, 422, { detail: [{ type: 'missing', loc: ['body', 'file'], msg: 'Field required' }] });
        const keys = [...body.keys()];
        if (keys.length !== 1 || keys[0] !== 'file') return send(res, 422, { detail: [{ type: 'extra_forbidden', loc: ['body', keys.find((k) => k !== 'file') ?? 'file'], msg: 'Only one part, file' }] });
        const file = body.get('file');
        if (!(file instanceof File)) return send(res, 422, { detail: [{ type: 'missing', loc: ['body', 'file'], msg: 'Expected a file' }] });
        if (file.size === 0) return send(res, 422, { detail: [{ type: 'value_error', loc: ['body', 'file'], msg: 'File is empty' }] });
        if (/\.exe$/i.test(file.name)) return send(res, 415, { object: 'error', message: `Unsupported file type: ${file.name}`, type: 'invalid_request_error', param: 'file', code: null });
        const doc: StoredDocument = { id: id(''), library_id: lib.id, name: file.name, size: file.size, mime_type: file.type, content: await file.text(), stepsLeft: /broken/.test(file.name) ? -1 : 2 };
        documents.push(doc);
        return send(res, 200, docView(doc));
      }
      if (parts[3] === 'documents' && parts.length === 4 && req.method === 'GET') {
        const size = Number(url.searchParams.get('page_size') ?? 100);
        const page = Number(url.searchParams.get('page') ?? 0);
        const docs = documents.filter((d) => d.library_id === lib.id);
        const slice = docs.slice(page * size, (page + 1) * size);
        const views = slice.map(docView);
        for (const d of slice) if (d.stepsLeft > 0) d.stepsLeft--; // processing moves on between listings
        return send(res, 200, { pagination: { total_items: docs.length, total_pages: Math.ceil(docs.length / size), current_page: page, page_size: size, has_more: (page + 1) * size < docs.length }, data: views });
      }
      if (parts[3] === 'documents' && parts[5] === 'status' && req.method === 'GET') {
        const doc = documents.find((d) => d.id === parts[4] && d.library_id === lib.id);
        if (!doc) return send(res, 404, { detail: 'Document not found' });
        const v = docView(doc);
        return send(res, 200, { document_id: doc.id, process_status: v.process_status, processing_status: v.processing_status });
      }
      return send(res, 404, { detail: 'Not Found' });
    }

    if (parts[1] === 'agents') {
      const b = body as Record<string, unknown> | undefined;
      if (b && req.method !== 'GET') {
        for (const k of Object.keys(b)) if (!AGENT_FIELDS.has(k)) return extraForbidden(res, k);
        for (const t of (b.tools as { type: string; library_ids?: string[] }[] | undefined) ?? []) {
          for (const lib of t.library_ids ?? []) if (!libraries.has(lib)) return send(res, 422, { detail: [{ type: 'value_error', loc: ['body', 'tools'], msg: `Library ${lib} not found` }] });
        }
      }
      if (parts.length === 2 && req.method === 'POST') {
        if (typeof b?.name !== 'string' || typeof b.model !== 'string') return send(res, 422, { detail: [{ type: 'missing', loc: ['body', 'model'], msg: 'Field required' }] });
        const agent: StoredAgent = { ...(b as Omit<StoredAgent, 'id' | 'version'>), id: `ag_${id('').replaceAll('-', '')}`, version: 0 };
        agents.set(agent.id, agent);
        return send(res, 200, { object: 'agent', ...agent, versions: [0], created_at: '2026-01-01T00:00:00Z', updated_at: '2026-01-01T00:00:00Z', deployment_chat: false, source: 'api' });
      }
      const agent = agents.get(parts[2] ?? '');
      if (!agent) return send(res, 404, { detail: 'Agent not found' });
      if (req.method === 'GET') return send(res, 200, { object: 'agent', ...agent });
      if (req.method === 'PATCH') {
        Object.assign(agent, b, { version: agent.version + 1 });
        return send(res, 200, { object: 'agent', ...agent });
      }
    }
    return send(res, 404, { detail: 'Not Found' });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => send(res, 500, { detail: String(err) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    apiKey,
    requests,
    libraries,
    documents,
    agents,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
