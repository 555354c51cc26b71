/** `--help` texts, one per command. */

const AGENT_SETTINGS = `  --instructions TEXT   system instructions for the model
  --model NAME          Mistral model (default mistral-small-latest)
  --temperature N       0 to 1 (default 0.7)
  --max-tokens N        longest reply in tokens, > 0 (default 1024)
  --top-p N             0 to 1 (default 1)
  --role TEXT           shown under the name in the widget (default assistant)
  --owner EMAIL         owning user, created when missing (default demo@localhost)

Abuse control (the widget key is public, these protect your Mistral credit):
  --allowed-origins L   sites allowed to use the widget, comma-separated
                        (https://shop.example.com, https://*.example.com, *); "" = any (default)
  --session-rate-limit N  turns per visitor session per minute (default 20, 0 = unlimited)
  --ip-rate-limit N     turns per client IP per minute (default 60, 0 = unlimited)
  --daily-token-budget N  Mistral tokens per UTC day (default unlimited)
  (give "default" to any of the last three to go back to the default)

Visitor identity (conversations follow signed-in visitors; see the README, "Visitor identity"):
  --identity-required true|false  refuse visitors without a valid X-User-Token`;

const DATABASE = `Database: DATABASE_URL (PostgreSQL) when set, else the embedded PGlite database in DATA_DIR
(default ./.data), which only one process may open: stop the server first. Pending migrations are applied first.`;

const VISITOR_ERASE = `Usage: mistral-agent-chat visitor erase --agent <id|key> --visitor-id V [--json]

Erases one visitor's data on request: every conversation of the widget visitor V (the visitor_id the
widget keeps in the browser) with that agent, with its messages and ratings. Statistics follow. Prints
how many conversations it erased.

Options:
  --agent <id|key>   the agent (its id, or its widget key mac_…)
  --visitor-id V     the visitor's id
${DATABASE}`;

export const HELP: Record<string, string> = {
  '': `mistral-agent-chat: an embeddable Mistral chat widget and its proxy

Usage: mistral-agent-chat <command> [options]

Commands:
  serve                       start the proxy and the widget bundle (demo pages in demo mode)
  migrate                     apply pending database migrations
  agent create --name NAME    create an agent and print its widget key and snippet
  agent list                  list agents and their keys
  agent update <id|key>       change an agent's settings
  agent rotate-key <id|key>   replace an agent's key (the old one stops working)
  agent disable <id|key>      refuse chats for an agent
  agent enable <id|key>       accept chats again
  agent link-mistral <id|key> answer with a Mistral agent made from this one (--library, --web-search)
  agent unlink-mistral <id|key>  answer with the agent's own instructions again
  library create --name NAME  create a Mistral document library
  library list                list your Mistral document libraries
  library upload <lib> <file…>  add files to a library
  library status <lib>        each document's processing status (--wait until done)
  stats                       conversations, messages and tokens per agent
  maintenance                 run the scheduled maintenance now: pruning, retention (the server does it on a timer)
  visitor erase --agent <id|key> --visitor-id V   delete one visitor's conversations with an agent
  init supabase [dir]         add our migrations and Edge Function to your Supabase project

Every command accepts --help, and --json for machine-readable output.
${DATABASE}
Env: MISTRAL_API_KEY, MISTRAL_BASE_URL, DATABASE_URL, DATA_DIR, PORT, HOST, PUBLIC_URL, DEMO_MODE,
TRUST_PROXY, LOG_FORMAT (the README's Configuration table has them all).`,

  serve: `Usage: mistral-agent-chat serve [--port N] [--demo | --no-demo]

Starts the HTTP server: the widget protocol (/v1/…), /healthz and the widget bundle (/widget.js).

Demo mode (the default on the embedded database): on a database with no agent, creates a demo agent and
prints its key; serves the demo pages at /; without MISTRAL_API_KEY answers from a built-in OFFLINE DEMO
model. Production mode (the default with DATABASE_URL or Supabase): creates nothing in the database, / is a
status page without any key, and without MISTRAL_API_KEY chats answer 503 until it is set.

Options:
  --port N     port to listen on (default PORT or 8787; 0 picks a free one)
  --demo       demo mode even on a real database (DEMO_MODE=1 does the same)
  --no-demo    production mode even on the embedded database (DEMO_MODE=0)

Env: HOST (interface to listen on; default every interface), PUBLIC_URL (the address visitors reach, used
in snippets and links), LOG_FORMAT (json or text; default text on a terminal, JSON otherwise),
TRUST_PROXY (number of proxies of yours in front, for the client address), MAINTENANCE_INTERVAL_MS.
Database: DATABASE_URL (PostgreSQL) when set, else the embedded PGlite database in DATA_DIR (default ./.data).
Pending migrations are applied at start.`,

  maintenance: `Usage: mistral-agent-chat maintenance [--batch-size N] [--json]

Runs the database maintenance once, until nothing is left: deletes rate-limit counters idle for over an
hour and token counters older than 400 days, purges conversations idle longer than their agent's
retention_days, folds past days' statistics counters (and whatever tasks later migrations register), in
batches of N rows per task (default 5000). The server does this by itself every MAINTENANCE_INTERVAL_MS; use this
command from an external scheduler when no Node server runs (Supabase without pg_cron).
${DATABASE}`,

  visitor: VISITOR_ERASE,
  'visitor erase': VISITOR_ERASE,

  migrate: `Usage: mistral-agent-chat migrate [--json]

Applies the SQL files of supabase/migrations that this database has not seen yet.
${DATABASE}`,

  agent: `Usage: mistral-agent-chat agent <create|list|update|rotate-key|disable|enable|link-mistral|unlink-mistral> [options]

Run "mistral-agent-chat agent <subcommand> --help" for the options of each.`,

  'agent create': `Usage: mistral-agent-chat agent create --name NAME [options]

Creates an agent and prints its widget key and a ready-to-paste snippet.

Options:
  --name TEXT           name shown in the widget header (required)
${AGENT_SETTINGS}
  --endpoint URL        proxy URL used in the snippet (default PUBLIC_URL; on the embedded database
                        http://localhost:PORT, else a placeholder to replace)
  --json                print the agent as JSON
${DATABASE}`,

  'agent list': `Usage: mistral-agent-chat agent list [--json]

Lists every agent with its owner, settings and key.
${DATABASE}`,

  'agent update': `Usage: mistral-agent-chat agent update <id|key> [options]

Changes only the settings given.

Options:
  --name TEXT           name shown in the widget header
${AGENT_SETTINGS}
  --identity-secret     make a new identity secret and print it once (tokens signed with the old one stop
                        working: rotate it this way)
  --no-identity-secret  remove the identity secret (visitor tokens are then refused)
  --json                print the agent as JSON
${DATABASE}`,

  'agent rotate-key': `Usage: mistral-agent-chat agent rotate-key <id|key> [--endpoint URL] [--json]

Gives the agent a new key; the old key is refused from now on. Prints the new snippet, pointing at
--endpoint, else PUBLIC_URL (on the embedded database http://localhost:PORT, else a placeholder to replace).
${DATABASE}`,

  'agent disable': `Usage: mistral-agent-chat agent disable <id|key> [--json]

The widget then answers "agent inactive" instead of chatting. Conversations are kept.
${DATABASE}`,

  'agent enable': `Usage: mistral-agent-chat agent enable <id|key> [--json]

Accepts chats again for a disabled agent.
${DATABASE}`,

  'agent link-mistral': `Usage: mistral-agent-chat agent link-mistral <id|key> [--library ID]… [--web-search] [--json]
       mistral-agent-chat agent link-mistral <id|key> --agent-id MISTRAL_AGENT_ID [--json]

Grounds an agent's answers: creates a Mistral agent from this agent's name, instructions, model,
temperature, top_p and max_tokens, with the document_library tool on the libraries given and optionally
web search, and stores its id in mistral_agent_id. Run it again after changing the agent to update the
Mistral agent (tools are replaced only when --library or --web-search is given). From then on the agent's
turns go through Mistral's Conversations API and replies show their sources.

Options:
  --library ID        a Mistral document library to search (repeat for several; see "library list")
  --web-search        let the agent search the web
  --agent-id ID       link an agent you already made on Mistral, as it is (offline-demo:docs: the
                      offline demo's built-in search over this project's docs, no key needed)
  --json              print {agent, mistral_agent, action} as JSON
Needs MISTRAL_API_KEY (MISTRAL_BASE_URL is honoured).
${DATABASE}`,

  'agent unlink-mistral': `Usage: mistral-agent-chat agent unlink-mistral <id|key> [--json]

Clears mistral_agent_id: the agent answers with its own instructions and settings again (chat completions).
The Mistral agent itself is left as it is.
${DATABASE}`,

  library: `Usage: mistral-agent-chat library <create|list|upload|status> [options]

Mistral document libraries, for agents linked with "agent link-mistral --library ID". Needs MISTRAL_API_KEY.
Run "mistral-agent-chat library <subcommand> --help" for the options of each.`,

  'library create': `Usage: mistral-agent-chat library create --name NAME [--description TEXT] [--json]

Creates a document library on Mistral and prints its id. Needs MISTRAL_API_KEY.`,

  'library list': `Usage: mistral-agent-chat library list [--json]

Lists the document libraries this MISTRAL_API_KEY can see, with their number of documents and size.`,

  'library upload': `Usage: mistral-agent-chat library upload <library-id> <file>… [--json]

Uploads files (PDF, Word, text, Markdown, HTML, …) into a library. Each file is reported; a file Mistral
rejects does not stop the others, and the command then exits 1. Mistral processes files for a while
before an agent can search them: see "library status --wait". Needs MISTRAL_API_KEY.`,

  'library status': `Usage: mistral-agent-chat library status <library-id> [--wait] [--timeout SECONDS] [--json]

Lists the library's documents with their processing status (ready, processing, failed).

Options:
  --wait            poll until no document is processing (exits 1 if one failed or time ran out)
  --timeout SECONDS  how long --wait waits (default 600)
Needs MISTRAL_API_KEY.`,

  init: `Usage: mistral-agent-chat init supabase [dir] [--force] [--json]

Run "mistral-agent-chat init supabase --help" for details.`,

  'init supabase': `Usage: mistral-agent-chat init supabase [dir] [--force] [--json]

Sets up your own Supabase project to run the widget proxy as an Edge Function. dir is your project folder,
the one that holds supabase/ (default: the current folder). It writes:
  supabase/migrations/00001_….sql …      our migrations, under our file names
  supabase/functions/mistral-agent-chat/index.ts    the function
  supabase/functions/mistral-agent-chat/deno.json   maps mistral-agent-chat/server to
                                          npm:mistral-agent-chat-server@<this version>/server
and adds [functions.mistral-agent-chat] with verify_jwt = false to supabase/config.toml (appended when
missing, the rest of your file untouched; a minimal file is created when there is none).
Files already there and identical are skipped; a file there with different content stops the command
before anything is written, unless --force. Running it again after upgrading the package adds the new
migrations (use --force to update the function's deno.json to the new version).

Migration order: our migrations are numbered 00001_, 00002_, … and sort before timestamped ones
(20240101000000_…). If your project has already applied migrations of its own, \`supabase db push\`
refuses to insert ours before them ("Found local migration files to be inserted before the last migration
on remote database"): run \`supabase db push --include-all\`. The command warns when this applies.

Options:
  --force    replace files that differ from ours (never config.toml)
  --json     print {written, skipped, config, warnings, next} as JSON

Then, from the project folder:
  supabase db push
  supabase secrets set MISTRAL_API_KEY=…
  supabase functions deploy mistral-agent-chat --no-verify-jwt`,

  stats: `Usage: mistral-agent-chat stats [--json]

Prints the agent_statistics view: conversations, messages, tokens billed and average response time per agent.
${DATABASE}`,
};
