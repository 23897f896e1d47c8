#!/usr/bin/env node
// Bundles each action (actions/<name>/src/index.ts) and the CLI into one self-contained ESM file per entry with ncc.
// Usage: node scripts/build.mjs [outDir]   (default: dist). The test suite builds into a temporary folder and
// compares with the committed dist/.
import { mkdir, rm, writeFile, readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ncc from '@vercel/ncc';
import { minify } from 'terser';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = resolve(root, process.argv[2] ?? 'dist');

const entries = { cli: join(root, 'packages/cli/index.ts') };
for (const name of (await readdir(join(root, 'actions'))).sort()) {
  const entry = join(root, 'actions', name, 'src/index.ts');
  if (existsSync(entry)) entries[name] = entry;
}

await rm(outDir, { recursive: true, force: true });
for (const [name, entry] of Object.entries(entries)) {
  const { code, assets } = await ncc(entry, {
    minify: true,
    sourceMap: false,
    quiet: true,
    target: 'es2023',
    externals: [],
    // Type errors are the typecheck stage's job; the bundle only needs the emitted JavaScript.
    transpileOnly: true,
  });
  const dir = join(outDir, name);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'index.js'), code);
  for (const [asset, { source }] of Object.entries(assets ?? {})) {
    const file = join(dir, asset);
    await mkdir(dirname(file), { recursive: true });
    // ncc minifies only the entry; lazily loaded chunks are minified here the same way.
    const chunk = /\.index\.js$/.test(asset) ? (await minify(source.toString(), { module: true, compress: true, mangle: true })).code : source;
    await writeFile(file, chunk);
  }
  console.log(`built ${name}: ${(Buffer.byteLength(code) / 1024).toFixed(0)} KiB${Object.keys(assets ?? {}).length ? ` + ${Object.keys(assets).length} asset(s)` : ''}`);
}
