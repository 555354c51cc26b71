/** What the console's views get from the element: the API, strings, and the shell's shared services. */
import type { ReactiveControllerHost } from 'lit';
import type { Agent, OwnerApi } from '../api.ts';
import type { ConsoleStrings } from '../strings.ts';

export type AgentTab = 'settings' | 'embed' | 'conversations' | 'statistics';

export interface ConfirmOptions {
  title: string;
  body: string;
  confirm: string;
  /** A destructive action: the confirm button is styled as such, and Cancel has the focus. */
  danger?: boolean;
}

export interface ConsoleContext extends ReactiveControllerHost {
  readonly api: OwnerApi;
  readonly s: ConsoleStrings;
  /** The resolved UI language (for Intl). */
  readonly uiLang: string;
  /** The owner API's base URL, absolute, no trailing slash. */
  readonly baseUrl: string;
  /** The widget script for the live preview. */
  readonly previewScript: string;
  readonly renderRoot: HTMLElement | DocumentFragment;
  /** The signed-in owner's agents (empty when signed out). */
  readonly agents: readonly Agent[];
  /** Says `text` in the polite live region and shows it in the status line. */
  announce(text: string): void;
  /**
   * The message to show for a failed call. A 401 `unauthorized` ends the session (back to sign-in) and
   * returns null: the view then shows nothing.
   */
  problem(err: unknown): string | null;
  confirm(opts: ConfirmOptions): Promise<boolean>;
  /** Shows a secret once, in a dialog with a copy button; it leaves the DOM when the dialog closes. */
  showSecret(title: string, secret: string): void;
  copy(text: string): Promise<void>;
  /** The agent changed on the server (saved, key rotated, secret made). */
  agentChanged(agent: Agent): void;
  agentCreated(agent: Agent): void;
  agentDeleted(agent: Agent): void;
  /** Shows one of the agent's tabs. */
  openAgent(id: string, tab?: AgentTab): void;
  /** Data changed on the server (a conversation erased): statistics must be read again. */
  statisticsStale(): void;
  /** Focuses the element matching `selector` in the shadow root after the next render. */
  focusAfterRender(selector: string): void;
}
