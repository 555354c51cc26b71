/**
 * Mistral's Libraries and Agents APIs for an owner setting up grounded answers without Mistral's console
 * (shared/reference/mistral-conversations.md §3, §5). Runtime-neutral: fetch, FormData and Blob only, so
 * the CLI uses it today and the owner console can later. Every failure is a MistralAdminError whose message
 * says what went wrong in the owner's terms (which library, which file, which key), never a raw body.
 */
import { summarizeErrorBody } from '../upstream/error-body.ts';

export interface MistralAdminOptions {
  apiKey: string;
  /** Without `/v1`, e.g. `https://api.mistral.ai`. */
  baseUrl: string;
  fetch?: typeof fetch;
  /** Per request (uploads included); default 120 s. */
  timeoutMs?: number;
}

export class MistralAdminError extends Error {
  constructor(
    message: string,
    /** The HTTP status Mistral answered, or null when it could not be reached. */
    readonly status: number | null,
  ) {
    super(message);
    this.name = 'MistralAdminError';
  }
}

export interface Library {
  id: string;
  name: string;
  description?: string | null;
  nb_documents?: number;
  total_size?: number;
  created_at?: string;
}

export interface LibraryDocument {
  id: string;
  name: string;
  library_id?: string;
  size?: number;
  mime_type?: string;
  created_at?: string;
  /** The current status field (`todo`, `in_progress`, `done`, `error`, …). */
  process_status?: string | null;
  /** The deprecated one (`Running`, `Completed`, …), read when the other is missing. */
  processing_status?: string | null;
}

export interface MistralAgent {
  id: string;
  name: string;
  model: string;
  instructions?: string | null;
  tools?: { type: string; library_ids?: string[] }[];
  completion_args?: Record<string, unknown> | null;
  version?: number;
}

/** The fields of `POST /v1/agents` (and `PATCH /v1/agents/{id}`) we send. */
export interface AgentBody {
  name: string;
  model: string;
  instructions?: string;
  completion_args?: { temperature?: number; top_p?: number; max_tokens?: number };
  tools?: ({ type: 'document_library'; library_ids: string[] } | { type: 'web_search' })[];
}

/** A file to upload: its name (as the library shows it) and bytes. */
export interface UploadFile {
  name: string;
  data: Uint8Array;
  /** Default: guessed from the extension. */
  type?: string;
}

export type DocumentState = 'ready' | 'processing' | 'failed';

/** Where a document stands, from `process_status` (or the deprecated `processing_status`). */
export function documentState(doc: Pick<LibraryDocument, 'process_status' | 'processing_status'>): DocumentState {
  const s = String(doc.process_status ?? doc.processing_status ?? '').toLowerCase();
  if (s === 'done' || s === 'completed' || s === 'noop' || s === 'self_managed') return 'ready';
  if (s === 'error' || s === 'failed' || s === 'missing_content' || s.includes('fail')) return 'failed';
  return 'processing';
}

const TYPES: Record<string, string> = {
  pdf: 'application/pdf',
  txt: 'text/plain',
  md: 'text/markdown',
  html: 'text/html',
  htm: 'text/html',
  csv: 'text/csv',
  json: 'application/json',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  pptx: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  epub: 'application/epub+zip',
};

/** A MIME type from a file name's extension (application/octet-stream when unknown). */
export const mimeType = (name: string) => TYPES[/\.([^.]+)$/.exec(name)?.[1]?.toLowerCase() ?? ''] ?? 'application/octet-stream';

/** What a request is about, to word its errors: a library, a document, an agent, a file. */
interface Subject {
  kind: 'library' | 'agent' | 'file' | 'request';
  id?: string;
}

export class MistralAdmin {
  readonly #o: MistralAdminOptions;
  readonly #base: string;

  constructor(o: MistralAdminOptions) {
    this.#o = o;
    this.#base = `${o.baseUrl.replace(/\/+$/, '')}/v1`;
  }

  // ---- libraries ----

  createLibrary(input: { name: string; description?: string }): Promise<Library> {
    return this.#json('POST', '/libraries', { kind: 'request' }, input);
  }

  /** Every library this key can see (all pages). */
  async listLibraries(): Promise<Library[]> {
    const out: Library[] = [];
    let token: string | null = null;
    for (let page = 0; page < 100; page++) {
      const query = `?page_size=100${token ? `&page_token=${encodeURIComponent(token)}` : ''}`;
      const res: { data?: Library[]; next_page_token?: string | null } = await this.#json('GET', `/libraries${query}`, { kind: 'request' });
      out.push(...(res.data ?? []));
      token = res.next_page_token ?? null;
      if (!token) break;
    }
    return out;
  }

  getLibrary(id: string): Promise<Library> {
    return this.#json('GET', `/libraries/${encodeURIComponent(id)}`, { kind: 'library', id });
  }

  /** Uploads one file as the multipart part `file` (the only part the API takes). */
  async uploadDocument(libraryId: string, file: UploadFile): Promise<LibraryDocument> {
    const form = new FormData();
    form.append('file', new Blob([file.data as Uint8Array<ArrayBuffer>], { type: file.type ?? mimeType(file.name) }), file.name);
    return this.#json('POST', `/libraries/${encodeURIComponent(libraryId)}/documents`, { kind: 'file', id: file.name }, form, libraryId);
  }

  /** Every document of a library with its status (all pages). */
  async listDocuments(libraryId: string): Promise<LibraryDocument[]> {
    const out: LibraryDocument[] = [];
    const size = 100;
    for (let page = 0; page < 1000; page++) {
      const res: { data?: LibraryDocument[] } = await this.#json(
        'GET',
        `/libraries/${encodeURIComponent(libraryId)}/documents?page_size=${size}&page=${page}`,
        { kind: 'library', id: libraryId },
      );
      const data = res.data ?? [];
      out.push(...data);
      if (data.length < size) break;
    }
    return out;
  }

  documentStatus(libraryId: string, documentId: string): Promise<{ document_id: string; process_status?: string; processing_status?: string }> {
    return this.#json('GET', `/libraries/${encodeURIComponent(libraryId)}/documents/${encodeURIComponent(documentId)}/status`, { kind: 'library', id: libraryId });
  }

  // ---- agents ----

  createAgent(body: AgentBody): Promise<MistralAgent> {
    return this.#json('POST', '/agents', { kind: 'request' }, body);
  }

  /** Changes the given fields (Mistral keeps the others and makes a new version). */
  updateAgent(id: string, body: Partial<AgentBody>): Promise<MistralAgent> {
    return this.#json('PATCH', `/agents/${encodeURIComponent(id)}`, { kind: 'agent', id }, body);
  }

  getAgent(id: string): Promise<MistralAgent> {
    return this.#json('GET', `/agents/${encodeURIComponent(id)}`, { kind: 'agent', id });
  }

  // ---- transport ----

  async #json<T>(method: string, path: string, subject: Subject, body?: unknown, libraryId?: string): Promise<T> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.#o.apiKey}`, accept: 'application/json' };
    let payload: BodyInit | undefined;
    if (body instanceof FormData) payload = body;
    else if (body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    let res: Response;
    try {
      res = await (this.#o.fetch ?? fetch)(this.#base + path, {
        method,
        headers,
        ...(payload === undefined ? {} : { body: payload }),
        signal: AbortSignal.timeout(this.#o.timeoutMs ?? 120_000),
      });
    } catch (err) {
      const why = err instanceof Error ? (err.name === 'TimeoutError' ? 'no answer in time' : String((err.cause as Error | undefined)?.message ?? err.message)) : String(err);
      throw new MistralAdminError(`could not reach Mistral at ${this.#o.baseUrl} (${why})`, null);
    }
    const text = await res.text().catch(() => '');
    if (!res.ok) throw this.#failure(res.status, text, subject, libraryId);
    try {
      return (text ? JSON.parse(text) : {}) as T;
    } catch {
      throw new MistralAdminError(`Mistral answered ${method} ${path} with something that is not JSON`, res.status);
    }
  }

  #failure(status: number, text: string, subject: Subject, libraryId: string | undefined): MistralAdminError {
    const detail = summarizeErrorBody(text.split(this.#o.apiKey).join('[redacted]')) || `HTTP ${status}`;
    if (status === 401) return new MistralAdminError(`Mistral rejected MISTRAL_API_KEY (401: ${detail})`, status);
    if (status === 404) {
      if (subject.kind === 'library') return new MistralAdminError(`no Mistral library with id ${subject.id} (or this key cannot see it)`, status);
      if (subject.kind === 'agent') return new MistralAdminError(`no Mistral agent with id ${subject.id} (or this key cannot see it)`, status);
      if (subject.kind === 'file') return new MistralAdminError(`no Mistral library with id ${libraryId} (or this key cannot see it)`, status);
    }
    if (subject.kind === 'file' && status >= 400 && status < 500 && status !== 429) {
      return new MistralAdminError(`Mistral rejected ${subject.id} (${status}: ${detail})`, status);
    }
    if (status === 429) return new MistralAdminError(`Mistral's rate limit was reached (429: ${detail}); try again in a moment`, status);
    if (status === 403) return new MistralAdminError(`Mistral refused this with this key (403: ${detail})`, status);
    if (status === 400 || status === 422) return new MistralAdminError(`Mistral rejected the request (${status}: ${detail})`, status);
    return new MistralAdminError(`Mistral answered ${status} (${detail}); try again later`, status);
  }
}

/** Our agent row as a Mistral agent: its name, instructions, model and settings, and the tools asked for. */
export function agentBody(
  row: { name: string; instructions: string | null; model: string; temperature: number | null; top_p: number | null; max_tokens: number | null },
  tools?: { libraryIds: string[]; webSearch: boolean },
): AgentBody {
  const body: AgentBody = { name: row.name, model: row.model };
  if (row.instructions?.trim()) body.instructions = row.instructions;
  const args: NonNullable<AgentBody['completion_args']> = {};
  if (row.temperature !== null) args.temperature = Number(row.temperature);
  if (row.top_p !== null) args.top_p = Number(row.top_p);
  if (row.max_tokens !== null) args.max_tokens = Number(row.max_tokens);
  if (Object.keys(args).length) body.completion_args = args;
  if (tools) {
    body.tools = [];
    if (tools.libraryIds.length) body.tools.push({ type: 'document_library', library_ids: tools.libraryIds });
    if (tools.webSearch) body.tools.push({ type: 'web_search' });
  }
  return body;
}
