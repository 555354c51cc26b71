/**
 * The weight floor: the least any element rendering streamed Markdown safely must ship (lit + marked +
 * DOMPurify, nothing of ours). `npm run bench` builds it with Vite into a temp dir and reports its gzip
 * size as `bundle.floor_gz`, so our bundle's weight reads against what its dependencies alone cost.
 */
import DOMPurify from 'dompurify';
import { LitElement, html } from 'lit';
import { unsafeHTML } from 'lit/directives/unsafe-html.js';
import { marked } from 'marked';

export class FloorElement extends LitElement {
  static override properties = { text: {} };
  text = '';

  override render() {
    return html`<div>${unsafeHTML(DOMPurify.sanitize(marked.parse(this.text, { async: false })))}</div>`;
  }
}

customElements.define('floor-element', FloorElement);
