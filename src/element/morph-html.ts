/**
 * `morphHTML(html)`: like Lit's `unsafeHTML`, but a new string updates the nodes already in place (text, attributes,
 * added or removed nodes) instead of replacing them all. A reply's last block is rendered again on every streamed
 * chunk: patching it keeps the style, layout and paint work to what changed. Only ever given the markdown module's sanitized output.
 */
import { noChange, render } from 'lit';
import { Directive, directive, type ChildPart } from 'lit/directive.js';
import { unsafeHTML } from 'lit/directives/unsafe-html.js';

const ADDED = /^(tabindex|role|aria-label)$/;

/** Makes `olds` (children of `parent`, in order, followed by `before`) look like `news`. */
function patch(parent: Node, olds: Node[], news: Node[], before: Node | null) {
  news.forEach((n, i) => {
    const o = olds[i];
    if (!o) parent.insertBefore(n, before);
    else if (o.nodeName !== n.nodeName) parent.replaceChild(n, o);
    else if (!(o instanceof Element)) {
      if (o.nodeValue !== n.nodeValue) o.nodeValue = n.nodeValue;
    } else {
      const e = n as Element;
      for (const { name, value } of e.attributes) if (o.getAttribute(name) !== value) o.setAttribute(name, value);
      // What the element added stays: a tabindex, role and name (a table or code too wide for its bubble), a code
      // block's copy button (last). Sanitized output never has these attributes.
      for (const { name } of [...o.attributes]) if (!ADDED.test(name) && !e.hasAttribute(name)) o.removeAttribute(name);
      const kids = [...o.childNodes];
      const button = kids.at(-1)?.nodeName === 'BUTTON' ? kids.pop()! : null;
      patch(o, kids, [...e.childNodes], button);
    }
  });
  for (const o of olds.slice(news.length)) parent.removeChild(o);
}

/** Told which top-level nodes a `morphHTML` update inserted or patched (for what the element adds to them). */
export type Morphed = (nodes: Node[]) => void;

class MorphHTML extends Directive {
  // Not a #private field: the es2021 build would lower it to a WeakMap.
  private html?: string;

  render(_html: string, _morphed?: Morphed): unknown {
    return noChange;
  }

  override update(part: ChildPart, [html, morphed]: [string, Morphed?]): unknown {
    if (html === this.html) return noChange;
    this.html = html;
    // Parsed by Lit in a detached element, so the HTML sink goes through Lit's Trusted Types policy as before.
    const box = document.createElement('div');
    render(unsafeHTML(html), box);
    const start = part.startNode!;
    const end = part.endNode;
    const olds: Node[] = [];
    for (let n = start.nextSibling; n && n !== end; n = n.nextSibling) olds.push(n);
    // (without Lit's marker comments)
    patch(start.parentNode!, olds, [...box.childNodes].filter((n) => n.nodeType !== Node.COMMENT_NODE), end);
    if (morphed) {
      const nodes: Node[] = [];
      for (let n = start.nextSibling; n && n !== end; n = n.nextSibling) nodes.push(n);
      morphed(nodes);
    }
    return noChange;
  }
}

export const morphHTML = directive(MorphHTML);
