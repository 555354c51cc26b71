/**
 * The local Mistral stand-in in its own process, answering like a real model (bench/lib/pace.ts): headers
 * and the role chunk after 180 ms, the first text 20 ms later (200 ms), then a text chunk every 20 ms.
 */
import { startMistralStandIn } from '../test/helpers/mistral-stand-in.ts';
import { serveParent } from './lib/child.ts';
import { PACE } from './lib/pace.ts';

const standIn = await startMistralStandIn({
  record: false,
  defaultBehaviour: {
    type: 'reply',
    text: PACE.text,
    chunkSize: PACE.chunkChars,
    thinkMs: PACE.firstTextMs - PACE.chunkIntervalMs,
    chunkDelayMs: PACE.chunkIntervalMs,
  },
});
serveParent(async (m) => {
  if (m.type === 'cpu') {
    const u = process.cpuUsage();
    return { userUs: u.user, systemUs: u.system };
  }
  if (m.type === 'stop') {
    await standIn.close();
    setImmediate(() => process.exit(0));
    return {};
  }
  throw new Error(`unknown request ${String(m.type)}`);
});
process.send?.({ type: 'ready', url: standIn.url, pid: process.pid });
