// Where Debian's (or any) Chromium lives; tools that download their own browser cannot work offline.
import { existsSync } from 'node:fs';

/** CHROME_PATH when set (null when it names nothing: a wrong setting is not silently replaced), else a system Chromium. */
export function findChromium() {
  if (process.env.CHROME_PATH) return existsSync(process.env.CHROME_PATH) ? process.env.CHROME_PATH : null;
  const candidates = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];
  return candidates.find((p) => existsSync(p)) ?? null;
}

/** Flags every headless launch needs here: root (no sandbox) and no network beyond loopback. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
];
