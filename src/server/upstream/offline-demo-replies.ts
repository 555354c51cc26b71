/**
 * What the offline demo model says (chat completions, no MISTRAL_API_KEY): a few canned replies, in English
 * or French, chosen by keywords, each showing something the widget renders (a table, code with its language,
 * a quote, lists, links) and each saying that it comes from the demo. Pure functions, runtime-neutral.
 */

export type DemoLang = 'en' | 'fr';

export type DemoIntent =
  | 'markdown'
  | 'table'
  | 'haiku'
  | 'code'
  | 'password'
  | 'books'
  | 'summary'
  | 'postgres'
  | 'list'
  | 'help'
  | 'greeting'
  | 'thanks'
  | 'fallback';

/** Lowercase, accents dropped, anything but letters and digits a space: what the keyword rules read. */
export function normalise(text: string): string {
  return ` ${text
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim()} `;
}

const FR_WORDS =
  /\s(je|j|tu|vous|nous|il|elle|le|la|les|des|du|un|une|est|que|qui|quoi|comment|pourquoi|bonjour|salut|merci|moi|peux|sais|ecris|ecrire|montre|explique|donne|fais|avec|pour|sur|dans|au|aux|et|en|ce|cette|mon|ma|mes|phrase|tableau|liste|aide|quel|quelle|stp|svp)(?=\s)/g;
const EN_WORDS =
  /\s(i|a|an|the|is|are|you|your|what|how|why|write|show|me|can|do|about|with|for|in|of|to|my|and|this|that|please|hello|hi|thanks|help|list|table|give|tell|which)(?=\s)/g;

/** French when the message has more French than English small words; English otherwise. */
export function demoLanguage(text: string): DemoLang {
  const n = normalise(text);
  const count = (re: RegExp) => n.match(re)?.length ?? 0;
  return count(FR_WORDS) > count(EN_WORDS) ? 'fr' : 'en';
}

/** First matching rule wins: the specific asks (a table, a haiku, code) before the topics and the small talk. */
const RULES: [DemoIntent, RegExp][] = [
  ['markdown', /\s(markdown|formatting|formatage|mise en forme|rendu|render|renders|rendering|everything you can show)\s/],
  ['table', /\s(table|tables|tableau|tableaux|compare|comparison|comparer|comparaison|versus|vs|difference|differences)\s/],
  ['haiku', /\s(haiku|haikus|poem|poems|poeme|poemes|poetry|poesie)\s/],
  ['code', /\s(code|snippet|snippets|javascript|js|typescript|ts|python|py|bash|shell|sh|one liner|oneliner|script|function|fonction|curl|terminal)\s/],
  ['password', /\s(password|passwords|mot de passe|mots de passe|reset|reinitialiser|login|sign in|log in|connexion)\s/],
  ['books', /\s(novel|novels|book|books|reading|roman|romans|livre|livres|lire|lecture)\s/],
  ['summary', /\s(summari[sz]e|summary|tl dr|tldr|resume|resumer|resumes|synthese)\s/],
  ['postgres', /\s(postgres|postgresql|pglite|database|databases|base de donnees|bases de donnees|supabase|sql)\s/],
  ['list', /\s(list|lists|liste|listes|steps|etapes|checklist|ideas|idees|tips|conseils|how do i|how to|how can i|comment)\s/],
  ['help', /\s(help|aide|aider|what can you do|what do you do|who are you|what are you|que sais tu faire|que peux tu faire|qui es tu|tu sais faire|capabilities|features|fonctionnalites|demo)\s/],
  ['greeting', /^\s(hi|hello|hey|hiya|bonjour|bonsoir|salut|coucou|good morning|good afternoon|good evening)\s/],
  ['thanks', /\s(thanks|thank you|thx|cheers|merci)\s/],
];

export function demoIntent(text: string): DemoIntent {
  const n = normalise(text);
  return RULES.find(([, re]) => re.test(n))?.[0] ?? 'fallback';
}

type CodeLang = 'js' | 'bash' | 'python';
const codeLang = (n: string): CodeLang =>
  /\s(bash|shell|sh|one liner|oneliner|curl|terminal|command|commande)\s/.test(n) ? 'bash' : /\s(python|py)\s/.test(n) ? 'python' : 'js';

const FOOTER: Record<DemoLang, string> = {
  en: '*Offline demo model: a canned reply, nothing was sent to Mistral. Set `MISTRAL_API_KEY` on the server for real answers.*',
  fr: '*Modèle de démonstration hors ligne : une réponse préparée, rien n’a été envoyé à Mistral. Définissez `MISTRAL_API_KEY` sur le serveur pour de vraies réponses.*',
};

const TRY: Record<DemoLang, string> = {
  en: [
    '- “Write a **haiku** about PostgreSQL” (a quote)',
    '- “Show me a **JavaScript snippet**” or “a **bash** one-liner” (code with a Copy button)',
    '- “**Compare** the databases in a table” (a wide table that scrolls)',
    '- “Give me a **list** of steps” (numbered and nested lists)',
    '- “Show me some **Markdown**” (everything at once)',
  ].join('\n'),
  fr: [
    '- « Écris un **haïku** sur PostgreSQL » (une citation)',
    '- « Montre-moi un **extrait de code JavaScript** » ou « une commande **bash** » (du code avec un bouton Copier)',
    '- « **Compare** les bases de données dans un tableau » (un tableau large qui défile)',
    '- « Donne-moi une **liste** d’étapes » (listes numérotées et imbriquées)',
    '- « Montre-moi du **Markdown** » (tout à la fois)',
  ].join('\n'),
};

const TABLE: Record<DemoLang, string> = {
  en: [
    '| Storage | Runs where | Set up with | Best for | Scales out |',
    '|---|---|---|---|---|',
    '| PGlite (embedded) | inside the Node process, in `./.data` | nothing: the default | trying it, small sites | no: one process |',
    '| PostgreSQL | any server you run | `DATABASE_URL=postgres://…` | self-hosting | yes: many proxies, one database |',
    '| Supabase | managed, with the Edge Function | `init supabase`, then deploy | no server to keep | yes |',
  ].join('\n'),
  fr: [
    '| Stockage | Où il tourne | Mise en place | Idéal pour | Plusieurs instances |',
    '|---|---|---|---|---|',
    '| PGlite (embarqué) | dans le processus Node, dans `./.data` | rien : c’est le défaut | essayer, petits sites | non : un seul processus |',
    '| PostgreSQL | le serveur de votre choix | `DATABASE_URL=postgres://…` | l’auto-hébergement | oui : plusieurs proxys, une base |',
    '| Supabase | géré, avec l’Edge Function | `init supabase`, puis déploiement | n’avoir aucun serveur | oui |',
  ].join('\n'),
};

const CODE: Record<CodeLang, Record<DemoLang, string>> = {
  js: {
    en: 'Listen to the widget from your page: every finished reply fires `mistral-chat-response`.',
    fr: 'Écoutez le widget depuis votre page : chaque réponse terminée déclenche `mistral-chat-response`.',
  },
  bash: {
    en: 'Talk to the proxy from a terminal: the reply streams back as server-sent events.',
    fr: 'Parlez au proxy depuis un terminal : la réponse arrive en flux d’événements (SSE).',
  },
  python: {
    en: 'The same from Python, reading the event stream line by line.',
    fr: 'La même chose en Python, en lisant le flux d’événements ligne à ligne.',
  },
};

const SNIPPET: Record<CodeLang, string> = {
  js: [
    '```js',
    "const chat = document.querySelector('mistral-agent-chat');",
    '',
    "chat.addEventListener('mistral-chat-response', (event) => {",
    '  console.log(`Reply ${event.id}: ${event.tokens_used} tokens`, event.text.slice(0, 80)); // the Markdown source',
    '});',
    '',
    "await customElements.whenDefined('mistral-agent-chat');",
    "chat.send('Hello from the page!');",
    '```',
  ].join('\n'),
  bash: [
    '```bash',
    'curl -N http://localhost:8787/v1/chat -H "X-Api-Key: $KEY" -H "Content-Type: application/json" -d \'{"session_id":"curl-session-1","message":"Hello"}\'',
    '```',
  ].join('\n'),
  python: [
    '```python',
    'import json, requests',
    '',
    'body = {"session_id": "python-session-1", "message": "Hello"}',
    'with requests.post("http://localhost:8787/v1/chat", json=body, headers={"X-Api-Key": KEY}, stream=True) as res:',
    '    for line in res.iter_lines(decode_unicode=True):',
    '        if line.startswith("data: "):',
    '            print(json.loads(line[6:]).get("text", ""), end="", flush=True)',
    '```',
  ].join('\n'),
};

type Reply = (lang: DemoLang, n: string, message: string) => string;

const REPLIES: Record<DemoIntent, Reply> = {
  help: (l) =>
    l === 'fr'
      ? [
          '## Démo hors ligne',
          '',
          'Je suis le **modèle de démonstration hors ligne** de mistral-agent-chat : ce serveur n’a pas de `MISTRAL_API_KEY`, je réponds donc avec quelques réponses intégrées. Vos messages sont bien **enregistrés** et mes réponses arrivent **en flux**, comme avec un vrai modèle.',
          '',
          'Demandez-moi ce que la discussion sait afficher :',
          '',
          TRY.fr,
          '',
          'Pour de vraies réponses, définissez la clé et redémarrez :',
          '',
          '```sh',
          'MISTRAL_API_KEY=votre-clé npm start',
          '```',
          '',
          'Plus d’informations dans la [documentation de Mistral](https://docs.mistral.ai).',
        ].join('\n')
      : [
          '## Offline demo',
          '',
          'I am the **offline demo model** of mistral-agent-chat: this server has no `MISTRAL_API_KEY`, so I answer from a few built-in replies. Your messages are still **stored**, and my replies **stream** like a real model’s.',
          '',
          'Ask me for something the chat can render:',
          '',
          TRY.en,
          '',
          'For real answers, set the key and restart:',
          '',
          '```sh',
          'MISTRAL_API_KEY=your-key npm start',
          '```',
          '',
          'Learn more in the [Mistral documentation](https://docs.mistral.ai).',
        ].join('\n'),

  haiku: (l, n) => {
    const pg = /\s(postgres|postgresql|pglite|database|sql|base de donnees)\s/.test(n);
    const poem = pg
      ? l === 'fr'
        ? ['Lignes dans le noir,', 'un commit et tout s’éveille :', 'rien ne se perd plus.']
        : ['Rows wait in the dark,', 'one commit and the lights wake:', 'nothing here is lost.']
      : l === 'fr'
        ? ['Un mot dans la boîte,', 'la réponse vient en flux,', 'lettre après lettre.']
        : ['A word in the box,', 'the answer streams back to you', 'letter by letter.'];
    const title = l === 'fr' ? (pg ? '### Haïku pour PostgreSQL' : '### Haïku') : pg ? '### A haiku for PostgreSQL' : '### A haiku';
    const credit =
      l === 'fr'
        ? 'Cinq, sept, cinq syllabes, à peu près : le modèle de démo compte mieux les octets que les pieds.'
        : 'Five, seven, five syllables, more or less: the demo model counts bytes better than feet.';
    return [title, '', `> ${poem[0]}\\`, `> ${poem[1]}\\`, `> ${poem[2]}`, '', credit].join('\n');
  },

  code: (l, n) => {
    const lang = codeLang(n);
    return [
      l === 'fr' ? '### Un extrait de code' : '### A code snippet',
      '',
      CODE[lang][l],
      '',
      SNIPPET[lang],
      '',
      l === 'fr'
        ? 'Les lignes longues défilent sur le côté ; le bouton **Copier** copie le bloc tel quel.'
        : 'Long lines scroll sideways; the **Copy** button copies the block as it is.',
    ].join('\n');
  },

  table: (l) =>
    [
      l === 'fr' ? '### Où stocker les conversations' : '### Where the conversations can live',
      '',
      TABLE[l],
      '',
      l === 'fr'
        ? 'Le tableau est plus large que la bulle : faites-le défiler (ou Tab puis les flèches au clavier).'
        : 'The table is wider than the bubble: scroll it sideways (or Tab to it and use the arrow keys).',
    ].join('\n'),

  list: (l) =>
    l === 'fr'
      ? [
          '### Ajouter la discussion à votre site',
          '',
          '1. **Créez un agent** : `npx mistral-agent-chat agent create --name "Support"`',
          '2. **Collez les deux balises** avant `</body>` :',
          '   - le script `widget.js` servi par votre proxy ;',
          '   - `<mistral-agent-chat api-key="mac_…">` avec la clé affichée.',
          '3. **Personnalisez** si vous voulez :',
          '   - le thème, avec les propriétés CSS `--mistral-chat-*` ;',
          '   - la langue (`lang="fr"`), les questions suggérées (`starters`).',
          '4. **Limitez les origines** autorisées avant la mise en production.',
        ].join('\n')
      : [
          '### Adding the chat to your site',
          '',
          '1. **Create an agent**: `npx mistral-agent-chat agent create --name "Support"`',
          '2. **Paste the two tags** before `</body>`:',
          '   - the `widget.js` script your proxy serves;',
          '   - `<mistral-agent-chat api-key="mac_…">` with the key it printed.',
          '3. **Make it yours** if you like:',
          '   - the theme, with the `--mistral-chat-*` CSS properties;',
          '   - the language (`lang="fr"`), the suggested questions (`starters`).',
          '4. **Limit the allowed origins** before going live.',
        ].join('\n'),

  password: (l) =>
    l === 'fr'
      ? [
          '### Réinitialiser votre mot de passe',
          '',
          '1. Ouvrez **Paramètres**, puis *Sécurité*.',
          '2. Choisissez **Réinitialiser le mot de passe**.',
          '3. Suivez le lien reçu par e-mail (il expire après une heure).',
          '',
          '> Ceci est un exemple : le modèle de démo ne connaît pas votre site. Un vrai agent répondrait avec vos instructions.',
        ].join('\n')
      : [
          '### Resetting your password',
          '',
          '1. Open **Settings**, then *Security*.',
          '2. Choose **Reset password**.',
          '3. Follow the link we email you (it expires after an hour).',
          '',
          '> This is an example: the demo model does not know your site. A real agent would answer from your instructions.',
        ].join('\n'),

  books: (l) =>
    l === 'fr'
      ? [
          '### Trois romans pour commencer',
          '',
          '- ***Le Petit Prince***, Antoine de Saint-Exupéry : court, et jamais tout à fait le même à chaque lecture.',
          '- ***L’Étranger***, Albert Camus : une voix qu’on n’oublie pas.',
          '- ***Fondation***, Isaac Asimov : un empire, des statistiques et beaucoup de patience.',
          '',
          '> « Lire, c’est boire et manger. » (Victor Hugo)',
        ].join('\n')
      : [
          '### Three novels to start with',
          '',
          '- ***The Left Hand of Darkness***, Ursula K. Le Guin: a winter world and a friendship that changes both sides.',
          '- ***Piranesi***, Susanna Clarke: a house of endless halls, and a very patient narrator.',
          '- ***Foundation***, Isaac Asimov: an empire, statistics and a great deal of patience.',
          '',
          '> “A reader lives a thousand lives before he dies.” (George R. R. Martin)',
        ].join('\n'),

  summary: (l) =>
    l === 'fr'
      ? [
          '### Résumé',
          '',
          'Le modèle de démo ne lit pas les pages. Voici à quoi ressemblerait le résumé de ce projet :',
          '',
          '- **Un élément** `<mistral-agent-chat>` à coller dans n’importe quelle page ;',
          '- **un proxy** qui vérifie la clé du widget, enregistre chaque conversation dans PostgreSQL et relaie la réponse de Mistral ;',
          '- **accessible et personnalisable** : clavier, lecteurs d’écran, thèmes en propriétés CSS.',
        ].join('\n')
      : [
          '### Summary',
          '',
          'The demo model cannot read pages. This is what a summary of this project would look like:',
          '',
          '- **One element**, `<mistral-agent-chat>`, to paste into any page;',
          '- **a proxy** that checks the widget’s key, stores every conversation in PostgreSQL and streams Mistral’s reply;',
          '- **accessible and themeable**: keyboard, screen readers, themes made of CSS custom properties.',
        ].join('\n'),

  postgres: (l) =>
    l === 'fr'
      ? [
          '**PostgreSQL** est une base de données relationnelle libre, fiable depuis plus de trente ans, qui garde vos données cohérentes même quand tout va mal.',
          '',
          'Ici, chaque conversation y est enregistrée : en local avec [PGlite](https://pglite.dev) (PostgreSQL compilé en WebAssembly), ou sur votre serveur ou [Supabase](https://supabase.com).',
        ].join('\n')
      : [
          '**PostgreSQL** is a free relational database, dependable for over thirty years, that keeps your data consistent even when things go wrong.',
          '',
          'Here it stores every conversation: locally with [PGlite](https://pglite.dev) (PostgreSQL compiled to WebAssembly), or on your own server or [Supabase](https://supabase.com).',
        ].join('\n'),

  markdown: (l) =>
    [
      l === 'fr' ? '## Tout ce que la discussion affiche' : '## Everything the chat renders',
      '',
      l === 'fr'
        ? 'Du texte en **gras**, en *italique*, du `code` en ligne et des [liens](https://docs.mistral.ai) qui s’ouvrent dans un nouvel onglet.'
        : 'Text in **bold**, in *italics*, inline `code` and [links](https://docs.mistral.ai) that open in a new tab.',
      '',
      l === 'fr' ? '### Listes' : '### Lists',
      '',
      l === 'fr' ? '1. Numérotées\n2. Ou à puces :\n   - imbriquées\n   - sur plusieurs niveaux' : '1. Numbered\n2. Or bulleted:\n   - nested\n   - on several levels',
      '',
      l === 'fr' ? '### Un tableau' : '### A table',
      '',
      TABLE[l],
      '',
      l === 'fr' ? '### Du code' : '### Code',
      '',
      SNIPPET.js,
      '',
      l === 'fr' ? '> Une citation, pour finir.' : '> A quote, to finish.',
    ].join('\n'),

  greeting: (l) =>
    l === 'fr'
      ? ['Bonjour ! Je suis le modèle de démonstration hors ligne. Essayez par exemple :', '', TRY.fr].join('\n')
      : ['Hello! I am the offline demo model. Try, for example:', '', TRY.en].join('\n'),

  thanks: (l) =>
    l === 'fr'
      ? 'Avec plaisir ! Pour aller plus loin, branchez une vraie clé Mistral : le reste (historique, flux, thèmes) ne change pas.'
      : 'You are welcome! To go further, plug in a real Mistral key: everything else (history, streaming, themes) stays the same.',

  fallback: (l, _n, message) => {
    const flat = message.replace(/\s+/g, ' ').trim();
    const echo = flat.length > 80 ? `${flat.slice(0, 80)}…` : flat;
    return l === 'fr'
      ? [
          '### Réponse de démonstration',
          '',
          echo ? `Vous avez écrit : « ${echo} ».` : 'Votre message était vide.',
          '',
          'Le modèle hors ligne ne connaît que quelques réponses. Essayez :',
          '',
          TRY.fr,
        ].join('\n')
      : [
          '### Demo reply',
          '',
          echo ? `You wrote: “${echo}”.` : 'Your message was empty.',
          '',
          'The offline model only knows a few replies. Try:',
          '',
          TRY.en,
        ].join('\n');
  },
};

/** French typography outside code: no line break inside « … » nor before : ? ! ; */
const frenchSpaces = (md: string) =>
  md
    .split(/(```[\s\S]*?```)/)
    .map((part, i) => (i % 2 ? part : part.replace(/« /g, '«\u00a0').replace(/ ([»:?!;])/g, '\u00a0$1')))
    .join('');

/** The demo model's reply to the visitor's last message: Markdown, ending with the note that it is a demo. */
export function offlineDemoReply(lastUserMessage: string): string {
  const lang = demoLanguage(lastUserMessage);
  const n = normalise(lastUserMessage);
  const reply = `${REPLIES[demoIntent(lastUserMessage)](lang, n, lastUserMessage)}\n\n${FOOTER[lang]}`;
  return lang === 'fr' ? frenchSpaces(reply) : reply;
}

/**
 * Cuts a reply into pieces the size of a few model tokens (a word, part of a long word, its spaces and
 * punctuation), as a real model streams it; `seed` varies the sizes reproducibly.
 */
export function tokenPieces(text: string, seed = text.length): string[] {
  const words = text.match(/\s*\S{1,7}|\s+/gu) ?? [];
  const pieces: string[] = [];
  let state = seed >>> 0 || 1;
  for (let i = 0; i < words.length; ) {
    state = (state * 1103515245 + 12345) >>> 0;
    const take = 1 + ((state >>> 16) % 3); // 1 to 3 tokens a chunk
    pieces.push(words.slice(i, i + take).join(''));
    i += take;
  }
  return pieces;
}
