/** The embed tab's code snippets for one agent. */

const attr = (v: string) => v.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

/** `theme` attribute for a scheme other than the default (`auto`). */
const themeAttr = (scheme: string) => (scheme && scheme !== 'auto' ? ` theme="${attr(scheme)}"` : '');

/** The base URL as pages must write it: absolute, no trailing slash. */
export function absoluteEndpoint(endpoint: string, base = location.href): string {
  try {
    return new URL(endpoint, base).href.replace(/\/+$/, '');
  } catch {
    return endpoint.replace(/\/+$/, '');
  }
}

/** Any page: the proxy serves the loader; the element's endpoint defaults to the script's origin. */
export function scriptSnippet(endpoint: string, apiKey: string, scheme = 'auto'): string {
  return (
    `<script type="module" src="${attr(endpoint)}/widget.js"></script>\n` +
    `<mistral-agent-chat api-key="${attr(apiKey)}"${themeAttr(scheme)}></mistral-agent-chat>\n`
  );
}

export const NPM_INSTALL = 'npm install mistral-agent-chat\n';

/** Bundlers and frameworks: the package registers the element; the endpoint must be given. */
export function npmSnippet(endpoint: string, apiKey: string, scheme = 'auto'): string {
  return (
    `import 'mistral-agent-chat/define';\n\n` +
    `// in your markup:\n` +
    `// <mistral-agent-chat endpoint="${attr(endpoint)}" api-key="${attr(apiKey)}"${themeAttr(scheme)}></mistral-agent-chat>\n`
  );
}
