/**
 * Imported first by markdown-sanitizer-shape.test.ts: a `Sanitizer` that ignores the config it is given (as an
 * earlier shape of the API would) and applies the browser's defaults instead.
 */
const Native = (window as unknown as { Sanitizer: new (config?: object) => object }).Sanitizer;
(window as unknown as { Sanitizer: unknown }).Sanitizer = class extends Native {
  constructor() {
    super();
  }
};
