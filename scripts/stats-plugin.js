// The vite plugin that records what each output chunk contains and loads (dist/stats.json,
// dist/console-stats.json), for scripts/size.js. Shared by scripts/build.js and scripts/build-console.js.
import { basename, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { minifySync } from 'vite';

/**
 * Per chunk of the build named `build`: entry or lazy, what it imports; per module (named relative to `root`):
 * rendered bytes and the gzip size of that module minified alone (the weight size.js uses to share out a
 * chunk's size). Written into `into`, keyed by the chunk's file name.
 */
export function statsPlugin(root, build, into) {
  const weigh = (id, code) => {
    try {
      return gzipSync(minifySync(id, code).code, { level: 9 }).length;
    } catch {
      return gzipSync(code, { level: 9 }).length;
    }
  };
  return {
    name: `mac-stats-${build}`,
    generateBundle(_options, bundle) {
      for (const out of Object.values(bundle)) {
        if (out.type !== 'chunk') continue;
        const modules = {};
        for (const [id, m] of Object.entries(out.modules)) {
          if (m.renderedLength === 0) continue;
          const name = relative(root, id.replace(/^\0/, '')).replaceAll('\\', '/');
          modules[name] = { rendered: m.renderedLength, min_gz: m.code ? weigh(`${basename(id)}.js`, m.code) : 0 };
        }
        into[out.fileName] = {
          build,
          isEntry: out.isEntry,
          isDynamicEntry: out.isDynamicEntry,
          imports: out.imports,
          dynamicImports: out.dynamicImports.filter((f) => f !== out.fileName),
          modules,
        };
      }
    },
  };
}
