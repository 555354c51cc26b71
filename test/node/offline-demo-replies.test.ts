import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { demoIntent, demoLanguage, offlineDemoReply, type DemoIntent } from '../../src/server/upstream/offline-demo-replies.ts';

/** The demo pages' suggested questions (demo/*.html) and common first questions, with what they should get. */
const ASKED: [string, DemoIntent, 'en' | 'fr'][] = [
  ['What can you do?', 'help', 'en'],
  ['Write a haiku about PostgreSQL', 'haiku', 'en'],
  ['Show me a JavaScript snippet', 'code', 'en'],
  ['Show me a bash one-liner', 'code', 'en'],
  ['How do I reset my password?', 'password', 'en'],
  ['Summarise this page', 'summary', 'en'],
  ['Recommend a novel', 'books', 'en'],
  ['Compare the databases in a table', 'table', 'en'],
  ['Give me a list of steps to add the chat to my site', 'list', 'en'],
  ['Show me some markdown', 'markdown', 'en'],
  ['Hello!', 'greeting', 'en'],
  ['Thanks a lot', 'thanks', 'en'],
  ['What is the weather like on Mars?', 'fallback', 'en'],
  ['Que sais-tu faire ?', 'help', 'fr'],
  ['Explique-moi PostgreSQL en une phrase', 'postgres', 'fr'],
  ['Écris un haïku sur la base de données', 'haiku', 'fr'],
  ['Montre-moi un exemple de code JavaScript', 'code', 'fr'],
  ['Peux-tu comparer les bases dans un tableau ?', 'table', 'fr'],
  ['Donne-moi une liste de conseils', 'list', 'fr'],
  ['Bonjour', 'greeting', 'fr'],
  ['Merci beaucoup !', 'thanks', 'fr'],
];

describe('offline demo replies', () => {
  for (const [message, intent, lang] of ASKED)
    it(`answers “${message}” with the ${intent} reply, in ${lang === 'fr' ? 'French' : 'English'}`, () => {
      assert.equal(demoIntent(message), intent);
      assert.equal(demoLanguage(message), lang);
      const reply = offlineDemoReply(message);
      // Every reply says it is the demo, in the visitor's language.
      assert.match(reply, lang === 'fr' ? /démonstration hors ligne/ : /Offline demo model/);
      assert.match(reply, /`MISTRAL_API_KEY`/);
    });

  it('shows a haiku as a quote of three lines', () => {
    const reply = offlineDemoReply('Write a haiku about PostgreSQL');
    assert.match(reply, /^### A haiku for PostgreSQL$/m);
    assert.equal(reply.match(/^> .+$/gm)?.length, 3);
    assert.match(reply, /^> .+\\$/m, 'hard line breaks inside the quote');
  });

  it('shows code in a fenced block with its language, with a line long enough to scroll', () => {
    for (const [ask, lang] of <[string, string][]>[['Show me a JavaScript snippet', 'js'], ['Show me a bash one-liner', 'bash'], ['A python snippet please', 'python']]) {
      const code = offlineDemoReply(ask).match(new RegExp('```' + lang + '\\n([\\s\\S]+?)\\n```'))?.[1];
      assert.ok(code, `a ${lang} block for “${ask}”`);
      assert.ok(Math.max(...code.split('\n').map((l) => l.length)) > 70, `a long ${lang} line`);
    }
  });

  it('shows a table wider than a chat bubble, and links', () => {
    const reply = offlineDemoReply('Compare the databases in a table');
    const rows = reply.split('\n').filter((l) => l.startsWith('|'));
    assert.equal(rows.length, 5);
    assert.match(rows[1]!, /^\|(---\|){5}$/);
    assert.ok(rows.every((r) => r.split('|').length === 7), 'five columns on every row');
    assert.match(offlineDemoReply('What can you do?'), /\]\(https:\/\/docs\.mistral\.ai\)/);
  });

  it('shows every kind of block when asked for Markdown', () => {
    const reply = offlineDemoReply('Show me some markdown');
    for (const [what, re] of [
      ['a heading', /^## /m], ['a sub-heading', /^### /m], ['bold', /\*\*[^*]+\*\*/], ['a numbered list', /^1\. /m],
      ['a nested list', /^ {3}- /m], ['a table', /^\|---/m], ['code with a language', /^```js$/m], ['a quote', /^> /m],
      ['a link', /\]\(https:\/\//],
    ] as const)
      assert.match(reply, re, what);
  });

  it('keeps French punctuation with its word (no break before : ? ! or inside « »), but never touches code', () => {
    const reply = offlineDemoReply('Que sais-tu faire ?');
    assert.doesNotMatch(reply.replace(/```[\s\S]*?```/g, ''), / [:?!;»]|« /);
    assert.match(reply, /«\u00a0Écris un \*\*haïku\*\*/);
    assert.match(reply, /```sh\nMISTRAL_API_KEY=votre-clé npm start\n```/);
    const table = offlineDemoReply('Compare les bases dans un tableau');
    assert.match(table, /rien\u00a0: c’est le défaut/);
  });

  it('suggests what to try when it has no demo reply, and echoes a bit of the message', () => {
    const reply = offlineDemoReply('What is the weather like on Mars?');
    assert.match(reply, /You wrote: “What is the weather like on Mars\?”/);
    assert.match(reply, /haiku/);
    assert.match(reply, /JavaScript snippet/);
    assert.match(offlineDemoReply('   '), /Your message was empty/);
  });
});
