/**
 * The conversation as a pure reducer: no DOM, no network, unit-testable anywhere.
 * The controller feeds it actions; the element renders the state.
 */
import type { FeedbackRating, Source, StoredMessage } from '../protocol.ts';

export interface Message {
  id: string;
  role: 'user' | 'assistant';
  /** User messages: plain text. Assistant messages: Markdown source. */
  text: string;
  /** Absent when finished normally. */
  status?: 'streaming' | 'stopped' | 'failed';
  /** What an assistant reply cites. */
  sources?: Source[];
  /** The visitor's rating of a finished reply. */
  feedback?: FeedbackRating;
}

export interface ViewError {
  /** Protocol ErrorCode, or `network` | `offline` | `bad_response` | … */
  code: string;
  /** Seconds to wait (rate limited), when the server said. */
  retryAfter?: number | null;
  /** What Retry does: resend the last message, or reload the history. */
  retry: 'send' | 'history';
}

export type Phase =
  | 'idle'
  /** a message was sent, no reply text yet (typing indicator) */
  | 'waiting'
  | 'streaming';

export interface ChatState {
  messages: Message[];
  phase: Phase;
  error: ViewError | null;
  /** The stored history was loaded (or there is none: new session). */
  loaded: boolean;
  /** The stored history is being loaded. */
  loading: boolean;
  /** Text of the last message sent, for Retry. */
  lastText: string;
  /** The tool the agent is running for the reply being written, if it said so. */
  activity: string | null;
  /** Sources cited before the reply's first words. */
  pending: Source[];
  /** A reply is being produced elsewhere (an earlier page, another tab or device): it is polled for. */
  coming: boolean;
}

export type Action =
  | { type: 'history' }
  | { type: 'loaded'; messages: StoredMessage[]; pending?: boolean }
  /** The stored history again (polled, or after another tab changed it): it replaces the list. */
  | { type: 'synced'; messages: StoredMessage[]; pending: boolean }
  | { type: 'send'; id: string; text: string }
  | { type: 'delta'; text: string }
  | { type: 'sources'; sources: Source[] }
  | { type: 'activity'; tool: string | null }
  | { type: 'done'; id: string }
  | { type: 'stopped'; id?: string }
  | { type: 'feedback'; id: string; rating?: FeedbackRating | null }
  | { type: 'fail'; error: ViewError }
  | { type: 'retry' }
  | { type: 'reset'; loaded: boolean };

export const initialState: ChatState = {
  messages: [],
  phase: 'idle',
  error: null,
  loaded: false,
  loading: false,
  lastText: '',
  activity: null,
  pending: [],
  coming: false,
};

/** `add` appended to `list`, but for ids already there (the first one stays). */
const merge = (list: Source[] = [], add: Source[]): Source[] => [...list, ...add.filter((x) => !list.some((y) => y.id === x.id))];

/** `sources` on a message, only when there are some. */
const cite = (sources: Source[] | undefined) => (sources?.length ? { sources } : {});

const STREAMING_ID = '';

const fromStored = ({ id, role, content, sources, stopped, feedback }: StoredMessage): Message => ({
  id,
  role,
  text: content,
  ...cite(sources),
  ...(stopped ? { status: 'stopped' as const } : {}),
  ...(feedback ? { feedback } : {}),
});

/** Waiting for a reply produced elsewhere, or not. */
const coming = (pending = false) => ({ coming: pending, phase: pending ? ('waiting' as const) : ('idle' as const) });

/** Replaces the last message if it is the reply being streamed. */
const patchReply = (messages: Message[], patch: (m: Message) => Message): Message[] => {
  const last = messages.at(-1);
  return last?.status === 'streaming' ? [...messages.slice(0, -1), patch(last)] : messages;
};

export function reduce(s: ChatState, a: Action): ChatState {
  switch (a.type) {
    case 'history':
      return { ...s, loading: true, error: null };
    case 'loaded':
      // Stored messages first, then what the visitor sent while they loaded.
      return {
        ...s,
        ...(a.pending ? coming(true) : {}),
        loading: false,
        loaded: true,
        messages: [...a.messages.map(fromStored), ...s.messages],
      };
    case 'synced':
      return { ...s, ...coming(a.pending), activity: null, messages: a.messages.map(fromStored) };
    case 'send':
      return {
        ...s,
        phase: 'waiting',
        coming: false,
        error: null,
        activity: null,
        pending: [],
        lastText: a.text,
        messages: [...s.messages, { id: a.id, role: 'user', text: a.text }],
      };
    case 'delta':
      return s.phase === 'waiting'
        ? {
            ...s,
            phase: 'streaming',
            pending: [],
            messages: [...s.messages, { id: STREAMING_ID, role: 'assistant', text: a.text, status: 'streaming', ...cite(s.pending) }],
          }
        : { ...s, messages: patchReply(s.messages, (m) => ({ ...m, text: m.text + a.text })) };
    case 'sources':
      return s.phase === 'waiting'
        ? { ...s, pending: merge(s.pending, a.sources) }
        : { ...s, messages: patchReply(s.messages, (m) => ({ ...m, sources: merge(m.sources, a.sources) })) };
    case 'activity':
      return { ...s, activity: a.tool };
    case 'done': {
      const messages =
        s.phase === 'waiting'
          ? [...s.messages, { id: a.id, role: 'assistant' as const, text: '', ...cite(s.pending) }]
          : patchReply(s.messages, ({ role, text, sources }) => ({ id: a.id, role, text, ...cite(sources) }));
      return { ...s, ...coming(), activity: null, pending: [], messages };
    }
    case 'stopped':
      return {
        ...s,
        ...coming(),
        activity: null,
        messages: patchReply(s.messages, (m) => ({ ...m, id: a.id ?? m.id, status: 'stopped' })),
      };
    case 'feedback':
      return {
        ...s,
        messages: s.messages.map((m) => {
          if (m.id !== a.id) return m;
          const { feedback: _, ...rest } = m;
          return a.rating ? { ...rest, feedback: a.rating } : rest;
        }),
      };
    case 'fail':
      return a.error.retry === 'history'
        ? { ...s, loading: false, error: a.error }
        : {
            ...s,
            phase: 'idle',
            activity: null,
            error: a.error,
            messages: patchReply(s.messages, (m) => ({ ...m, status: 'failed' })),
          };
    case 'retry': {
      // Drop the failed turn (user message and any partial reply): it is sent again as a new turn.
      const messages = [...s.messages];
      if (s.error?.retry === 'send') {
        if (messages.at(-1)?.status === 'failed') messages.pop();
        if (messages.at(-1)?.role === 'user') messages.pop();
      }
      return { ...s, error: null, messages };
    }
    case 'reset':
      return { ...initialState, loaded: a.loaded };
  }
}
