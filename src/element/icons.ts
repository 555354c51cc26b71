import { html } from 'lit';

/** 24×24 stroke icons (decorative: buttons carry the label). */
export const icon = (d: string) => html`<svg viewBox="0 0 24 24" aria-hidden="true"><path d=${d}></path></svg>`;

export const CHAT = 'M4 5h16v11H9l-5 4z';
export const CLOSE = 'M6 6l12 12M18 6 6 18';
export const NEW = 'M12 5v14M5 12h14';
export const SEND = 'M4 12h15m-6-6 6 6-6 6';
export const STOP = 'M7 7h10v10H7z';
