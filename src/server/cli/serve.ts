/** `mistral-agent-chat serve`: the Node server, with a readable banner and a graceful stop on SIGINT/SIGTERM. */
import { consoleLogger } from '../log.ts';
import { loadConfig } from '../config.ts';
import { startServer, type ServerInfo } from '../node/server.ts';
import { UsageError, noPositionals, parse } from './args.ts';
import type { Io } from './commands.ts';
import { embedSnippet } from './output.ts';

type Env = Record<string, string | undefined>;

/** A human banner for someone running `npm start` in a terminal (the JSON log lines carry the same facts). */
function banner(info: ServerInfo): string {
  const lines = [
    `mistral-agent-chat is running at ${info.url}`,
    `  demo page:  ${info.url}/`,
    `  database:   ${info.database}${info.databaseReady ? '' : ' (UNREACHABLE: retrying, /healthz answers 503)'}`,
    `  model:      ${info.upstream === 'mistral' ? 'Mistral API' : 'OFFLINE DEMO (no MISTRAL_API_KEY: replies come from a built-in demo model, not Mistral)'}`,
  ];
  if (info.demoKey) {
    lines.push(`  demo key:   ${info.demoKey}${info.createdDemoAgent ? '  (new demo agent "Demo assistant")' : ''}`);
    lines.push('', 'Embed it in any page:', embedSnippet(info.url, info.demoKey));
  }
  const width = Math.max(...lines.map((l) => l.length));
  const rule = '='.repeat(Math.min(width, 100));
  return [rule, ...lines, rule].join('\n');
}

export async function serveCommand(args: string[], env: Env, io: Io): Promise<number | undefined> {
  const { values, positionals } = parse('serve', args, { port: { type: 'string' } });
  noPositionals(positionals, 'serve');
  let port: number | undefined;
  if (typeof values.port === 'string') {
    port = Number(values.port);
    if (!/^\d+$/.test(values.port) || port > 65_535) throw new UsageError(`--port must be a port number (0-65535), got "${values.port}"`, 'serve');
  }
  const config = loadConfig(env);
  const log = consoleLogger({ service: 'mistral-agent-chat' });
  const server = await startServer({ env, log, ...(port === undefined ? {} : { port }) });
  if (process.stderr.isTTY) io.err('\n' + banner(server) + '\n');

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn('second signal: exiting now', { signal });
      process.exit(1);
    }
    stopping = true;
    log.info('shutting down: finishing open replies', { signal, grace_ms: config.shutdownGraceMs });
    // Whatever happens, do not hang: the grace period plus time to store partial replies and close.
    setTimeout(() => {
      log.error('shutdown took too long: exiting');
      process.exit(1);
    }, config.shutdownGraceMs + 10_000).unref();
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error('shutdown failed', { error: err instanceof Error ? err.message : String(err) });
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  return undefined;
}
