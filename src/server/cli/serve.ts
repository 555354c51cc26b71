/**
 * `mistral-agent-chat serve`: the Node server, a graceful stop on SIGINT/SIGTERM, and what it prints at start:
 * on a terminal (or LOG_FORMAT=text) human log lines and a short summary (where to open it, the mode, the key
 * and the snippet in demo mode); elsewhere (or LOG_FORMAT=json) one JSON object per line.
 */
import { loadConfig } from '../config.ts';
import { embedSnippet } from '../embed.ts';
import { consoleLogger, textLogger } from '../log.ts';
import { startServer, type ServerInfo } from '../node/server.ts';
import { UsageError, noPositionals, parse } from './args.ts';
import type { Io } from './commands.ts';

type Env = Record<string, string | undefined>;

/** LOG_FORMAT: `json`, `text`, or unset (text on a terminal, JSON otherwise). */
export function logFormat(env: Env, isTty: boolean): 'json' | 'text' {
  const v = (env.LOG_FORMAT ?? '').trim().toLowerCase();
  if (v === '') return isTty ? 'text' : 'json';
  if (v === 'json' || v === 'text') return v;
  throw new UsageError(`LOG_FORMAT must be "json" or "text" (unset: text on a terminal, JSON otherwise), got "${env.LOG_FORMAT}"`, 'serve');
}

const MODEL: Record<ServerInfo['upstream'], string> = {
  mistral: 'Mistral API',
  'offline-demo': 'OFFLINE DEMO: replies come from a built-in demo model, not Mistral (set MISTRAL_API_KEY for real answers)',
  none: 'NONE: MISTRAL_API_KEY is not set, so chats answer 503 until it is',
};

/** Where the owner console is and how to sign in to it: the demo owner's new password, or how to make an owner. */
function consoleLines(info: ServerInfo): string[] {
  const url = `${info.url}/console`;
  if (info.demoOwner) {
    return [
      `  console       ${url}`,
      `  sign in as    ${info.demoOwner.email}  password ${info.demoOwner.password}`,
      `                (shown only now; change it with: npx mistral-agent-chat owner reset-password --email ${info.demoOwner.email})`,
    ];
  }
  if (info.ownerSignIn === false) {
    const stopFirst = info.database === 'pglite' ? ' (stop the server first: the embedded database has one user at a time)' : '';
    return [`  console       ${url}  no owner can sign in yet: npx mistral-agent-chat owner create --email you@example.com${stopFirst}`];
  }
  return [`  console       ${url}`];
}

/** The start-up summary for a person at a terminal (the JSON "listening" line carries the same facts). */
export function summary(info: ServerInfo): string {
  const where = info.allInterfaces
    ? `every interface, port ${info.port} (set HOST=127.0.0.1 to accept connections from this machine only)`
    : `${info.address} port ${info.port}`;
  const lines = [
    info.mode === 'demo'
      ? `mistral-agent-chat is running in DEMO mode: ${info.url}/`
      : `mistral-agent-chat is running in PRODUCTION mode (no demo agent, no demo pages): ${info.url}`,
    `  listening on  ${where}`,
    `  database      ${info.database}${info.databaseReady ? '' : ' (UNREACHABLE: retrying, /healthz answers 503)'}`,
    `  model         ${MODEL[info.upstream]}`,
  ];
  lines.push(...consoleLines(info));
  if (info.mode === 'demo' && info.demoKey) {
    lines.push(`  demo key      ${info.demoKey}${info.createdDemoAgent ? '  (new demo agent "Demo assistant")' : ''}`);
    lines.push('', 'Paste this into any page to try it:', embedSnippet(info.url, info.demoKey));
  } else if (info.mode === 'production') {
    lines.push('', 'Create an agent and get its snippet with: mistral-agent-chat agent create --name "My assistant"');
  }
  return lines.join('\n');
}

export async function serveCommand(args: string[], env: Env, io: Io): Promise<number | undefined> {
  const { values, positionals } = parse('serve', args, {
    port: { type: 'string' },
    demo: { type: 'boolean' },
    'no-demo': { type: 'boolean' },
  });
  noPositionals(positionals, 'serve');
  let port: number | undefined;
  if (typeof values.port === 'string') {
    port = Number(values.port);
    if (!/^\d+$/.test(values.port) || port > 65_535) throw new UsageError(`--port must be a port number (0-65535), got "${values.port}"`, 'serve');
  }
  if (values.demo && values['no-demo']) throw new UsageError('--demo and --no-demo contradict each other: give one', 'serve');
  const demo = values.demo ? true : values['no-demo'] ? false : undefined;
  const format = logFormat(env, Boolean(process.stderr.isTTY));
  const config = loadConfig(env);
  const log = format === 'json' ? consoleLogger({ service: 'mistral-agent-chat' }) : textLogger();
  const started = startServer({ env, log, ...(port === undefined ? {} : { port }), ...(demo === undefined ? {} : { demo }) });

  // Listening for signals before anything is printed: whoever reads the output and signals at once must get
  // a graceful stop, not the default (an immediate kill).
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
    started
      .then((server) => server.close())
      .then(
        () => process.exit(0),
        (err: unknown) => {
          log.error('shutdown failed', { error: err instanceof Error ? err.message : String(err) });
          process.exit(1);
        },
      );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);

  const server = await started;
  if (format === 'text' && !stopping) io.err('\n' + summary(server) + '\n');
  // JSON logs have no summary: the demo owner's password goes into one line of its own, once.
  if (format === 'json' && server.demoOwner) {
    log.warn('gave the demo owner a password for the owner console (shown only now; change it with owner reset-password)', {
      console: `${server.url}/console`,
      email: server.demoOwner.email,
      password: server.demoOwner.password,
    });
  } else if (format === 'json' && server.ownerSignIn === false) {
    log.info('no owner can sign in to the owner console yet: run mistral-agent-chat owner create --email you@example.com', { console: `${server.url}/console` });
  }
  return undefined;
}
