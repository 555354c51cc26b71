/**
 * Agent ids that only this package knows, never Mistral. `agents.mistral_agent_id` may hold one: the offline
 * demo model answers it through its Conversations wire format, grounded on this project's own README and
 * docs; with a real MISTRAL_API_KEY the proxy answers such an agent through chat completions with the row's
 * own instructions instead of sending Mistral an agent id it does not know (see createMistralUpstream).
 */

/** The demo agent's: grounded on the project's README and docs (the offline demo's built-in search). */
export const DOCS_DEMO_AGENT_ID = 'offline-demo:docs';
