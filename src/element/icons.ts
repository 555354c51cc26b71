import { html } from 'lit';

/** 24×24 stroke icons (decorative: buttons carry the label). */
export const icon = (d: string) => html`<svg viewBox="0 0 24 24" aria-hidden="true"><path d=${d}></path></svg>`;

export const CHAT = 'M4 5h16v11H9l-5 4z';
export const CLOSE = 'M6 6l12 12M18 6 6 18';
export const NEW = 'M12 5v14M5 12h14';
export const SEND = 'M4 12h15m-6-6 6 6-6 6';
export const STOP = 'M7 7h10v10H7z';
/** Thumbs up; thumbs down is the same, flipped by CSS (`.down svg`). */
export const THUMB = 'M7 10v11M7 10l4-8a3 3 0 0 1 3 3v4h5a2 2 0 0 1 2 2.3l-1.3 8A2 2 0 0 1 17.7 21H4v-11z';
export const LIST = 'M4 6h16M4 12h16M4 18h10';
