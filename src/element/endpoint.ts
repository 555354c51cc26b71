/**
 * The endpoint used by elements that have no `endpoint` attribute. Set by the script-tag entry
 * (src/widget.ts) to the origin the widget was loaded from; empty otherwise.
 */
let fallback = '';

export const setDefaultEndpoint = (url: string): void => {
  fallback = url;
};

export const defaultEndpoint = (): string => fallback;
