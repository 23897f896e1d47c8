#!/usr/bin/env node
// Writes schema/rollgate.schema.json from the zod schema (through the CLI bundle, so it is exactly what users get).
// Usage: node scripts/schema.mjs [--check]
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const file = join(root, 'schema/rollgate.schema.json');
const fresh = execFileSync(process.execPath, [join(root, 'dist/cli/index.js'), 'schema'], { encoding: 'utf8' });
if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(file, 'utf8');
  } catch {
    /* missing counts as stale */
  }
  if (current !== fresh) {
    console.error('schema/rollgate.schema.json is stale: run npm run schema and commit it');
    process.exit(1);
  }
  console.log('schema/rollgate.schema.json is current');
} else {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, fresh);
  console.log(`wrote ${file}`);
}
