/**
 * `<mistral-agent-chat>` in a React 19 app: props in (React 19 sets a property when the element has one),
 * typed events out (a ref and addEventListener, or an `onmistral-chat-…` prop), methods called from React
 * buttons. Run `npm start` (the proxy, it prints the demo key), then `npm run demo:react` and open
 * http://localhost:5173/?key=mac_… (add `&endpoint=https://…` for a proxy elsewhere than localhost:8787).
 */
import { StrictMode, useEffect, useRef, useState, type DetailedHTMLProps, type HTMLAttributes } from 'react';
import { createRoot } from 'react-dom/client';
import type {
  MistralAgentChat,
  MistralAgentChatProps,
  MistralChatErrorEvent,
  MistralChatResponseEvent,
  MistralChatSendEvent,
} from 'mistral-agent-chat';
import 'mistral-agent-chat/define';

declare module 'react' {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace JSX {
    interface IntrinsicElements {
      'mistral-agent-chat': MistralAgentChatProps & DetailedHTMLProps<HTMLAttributes<MistralAgentChat>, MistralAgentChat>;
    }
  }
}

const params = new URLSearchParams(location.search);
const endpoint = params.get('endpoint') ?? import.meta.env.VITE_MAC_ENDPOINT ?? 'http://localhost:8787';
const apiKey = params.get('key') ?? import.meta.env.VITE_MAC_KEY ?? '';

// Stable identities: a new array or object on every render would be set on the element every time.
const STARTERS = ['What are your opening hours?', 'Do you ship abroad?'];
const METADATA = { app: 'react-demo' };
const QUESTION = 'What are your opening hours?';

function App() {
  const chat = useRef<MistralAgentChat>(null);
  const [events, setEvents] = useState<string[]>([]);
  const [reply, setReply] = useState<{ text: string; tokens: number } | null>(null);
  const [dark, setDark] = useState(false);
  const log = (line: string) => setEvents((lines) => [...lines, line]);

  useEffect(() => {
    const el = chat.current;
    if (!el) return;
    const onSend = (e: MistralChatSendEvent) => log(`send: ${e.text}`);
    const onResponse = (e: MistralChatResponseEvent) => {
      log(`response: ${e.tokens_used} tokens`);
      setReply({ text: e.text, tokens: e.tokens_used });
    };
    const onError = (e: MistralChatErrorEvent) => log(`error: ${e.code}`);
    el.addEventListener('mistral-chat-send', onSend);
    el.addEventListener('mistral-chat-response', onResponse);
    el.addEventListener('mistral-chat-error', onError);
    return () => {
      el.removeEventListener('mistral-chat-send', onSend);
      el.removeEventListener('mistral-chat-response', onResponse);
      el.removeEventListener('mistral-chat-error', onError);
    };
  }, []);

  return (
    <main>
      <h1>mistral-agent-chat in React</h1>
      {apiKey ? null : (
        <p role="alert">
          Add <code>?key=mac_…</code> to this page's address: the demo key that <code>npm start</code> prints.
        </p>
      )}
      <p>These buttons are React; they call the element's methods through a ref.</p>
      <p>
        <button type="button" onClick={() => chat.current?.open()}>
          Open the chat
        </button>{' '}
        <button type="button" onClick={() => void chat.current?.send(QUESTION)}>
          Ask about opening hours
        </button>{' '}
        <button type="button" onClick={() => chat.current?.reset()}>
          New conversation
        </button>{' '}
        <label>
          <input type="checkbox" checked={dark} onChange={(e) => setDark(e.target.checked)} /> Dark theme
        </label>
      </p>

      <h2>Events, as React state</h2>
      <ol aria-label="Events">
        {events.map((line, i) => (
          <li key={i}>{line}</li>
        ))}
      </ol>
      <p aria-live="polite" data-testid="last-reply">
        {reply ? `Last reply (${reply.tokens} tokens): ${reply.text}` : 'No reply yet.'}
      </p>

      <mistral-agent-chat
        ref={chat}
        api-key={apiKey}
        endpoint={endpoint}
        theme={dark ? 'dark' : 'light'}
        heading="Shop assistant"
        welcome-message="Hi! I am rendered by React."
        starters={STARTERS}
        metadata={METADATA}
        onmistral-chat-open={() => log('open')}
        onmistral-chat-close={() => log('close')}
      />
    </main>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
