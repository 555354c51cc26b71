/**
 * `mistral-agent-chat/console`'s class and types. Importing it registers nothing; import
 * `src/console/define.ts` (the `dist/console/mistral-agent-console.js` bundle) to register
 * `<mistral-agent-console>`, or call `customElements.define('my-console', MistralAgentConsole)` yourself.
 */
export { MistralAgentConsole } from './mistral-agent-console.ts';
export { OwnerApi, OwnerApiError } from './api.ts';
export type {
  Agent,
  AgentInput,
  AgentStatistics,
  ConversationSummary,
  DailyFigures,
  OwnerConfig,
  Transcript,
  TranscriptMessage,
} from './api.ts';
export type { ConsoleStrings, ConsoleStringKey } from './strings.ts';
