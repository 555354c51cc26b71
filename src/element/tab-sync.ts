/**
 * Tabs of one site that show the same conversation keep in sync through a BroadcastChannel named
 * `mistral-agent-chat:<endpoint>:<api-key>:<session_id>` (docs: the identity protocol). The tab that sent a
 * message streams the reply from the proxy and relays it; the others mirror it. Without BroadcastChannel
 * (old browsers) each tab simply stands alone.
 */
import type { Source } from '../protocol.ts';

export type TabMessage =
  | { type: 'user'; id: string; text: string }
  | { type: 'delta'; text: string }
  | { type: 'sources'; sources: Source[] }
  | { type: 'done'; id: string; stopped: boolean }
  /** Something changed that is not mirrored (a failed turn): reload the history. */
  | { type: 'refresh' };

export class TabSync {
  #channel?: BroadcastChannel;
  #name = '';

  constructor(readonly onMessage: (m: TabMessage) => void) {}

  /** Listens to (and posts on) the channel of that name from now on. */
  join(name: string) {
    if (name === this.#name && this.#channel) return;
    this.close();
    this.#name = name;
    if (typeof BroadcastChannel !== 'function') return;
    this.#channel = new BroadcastChannel(name);
    this.#channel.onmessage = (e: MessageEvent<TabMessage>) => this.onMessage(e.data);
  }

  post(m: TabMessage) {
    this.#channel?.postMessage(m);
  }

  close() {
    this.#channel?.close();
    this.#channel = undefined;
  }
}
