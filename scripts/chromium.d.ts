/** CHROME_PATH when set (null when it names nothing), else a system Chromium, or null when none is installed. */
export function findChromium(): string | null;
/** Flags every headless launch needs here: root (no sandbox) and no network beyond loopback. */
export const CHROMIUM_ARGS: string[];
