/** The local Mistral stand-in in its own process (no think time, the whole reply in one write). */
import { startMistralStandIn } from '../test/helpers/mistral-stand-in.ts';
import { serveParent } from './lib/child.ts';

const standIn = await startMistralStandIn({ record: false });
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
process.send?.({ type: 'ready', url: standIn.url });
