/**
 * Script-tag entry (`/widget.js` as ES module, `/widget.iife.js` as classic script): registers the
 * element and makes the origin this script came from the default `endpoint`, so
 * `<script src="https://proxy.example/widget.js">` + `<mistral-agent-chat api-key="…">` is all a page needs.
 */
import './define.ts';
import { setDefaultEndpoint } from './element/endpoint.ts';

function scriptUrl(): string | undefined {
  try {
    // ESM: the module's URL. In the IIFE build the bundler rewrites or empties it; fall through then.
    if (import.meta.url) return import.meta.url;
  } catch {
    // import.meta unavailable
  }
  return (document.currentScript as HTMLScriptElement | null)?.src;
}

const url = scriptUrl();
if (url) {
  try {
    const { origin } = new URL(url);
    if (origin.startsWith('http')) setDefaultEndpoint(origin);
  } catch {
    // not a URL: elements need an explicit endpoint
  }
}
