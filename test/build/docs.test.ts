import { afterEach, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../support/run-action.js';
import { parseConfig } from '../../packages/config/load.js';
import { planChecks } from '../../packages/config/plan.js';
import { formatProblem } from '../../packages/config/errors.js';
import { Secrets } from '../../packages/config/secrets.js';

const SCRIPT = join(ROOT, 'scripts/docs.mjs');

function runDocs(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [SCRIPT, ...args], { cwd: ROOT, encoding: 'utf8' });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** A copy of what the generator reads and writes, so a test can break it without touching the repository. */
function copyOfRepository(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rollgate-docs-'));
  for (const folder of ['schema', 'actions', 'docs']) cpSync(join(ROOT, folder), join(dir, folder), { recursive: true });
  return dir;
}

describe('generated documentation', () => {
  const made: string[] = [];
  afterEach(() => {
    for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('is current: the configuration reference and action README tables match the schema and action.yml files', () => {
    const run = runDocs('--check');
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
  });

  it('check mode fails and names the configuration reference when it was edited by hand', () => {
    const dir = copyOfRepository();
    made.push(dir);
    expect(runDocs('--check', '--root', dir).status).toBe(0);

    appendFileSync(join(dir, 'docs/configuration-reference.md'), '\nA hand-written line.\n');
    const run = runDocs('--check', '--root', dir);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('docs/configuration-reference.md');
    expect(run.stderr).not.toContain('actions/validate/README.md');
    expect(run.stderr).toContain('npm run docs');
  });

  it('check mode fails and names the action README when action.yml changed and the tables were not regenerated', () => {
    const dir = copyOfRepository();
    made.push(dir);
    const actionFile = join(dir, 'actions/validate/action.yml');
    writeFileSync(actionFile, readFileSync(actionFile, 'utf8').replace(/(\n {2}report-dir:\n {4}description: )/, '$1Changed. '));

    const run = runDocs('--check', '--root', dir);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('actions/validate/README.md');

    expect(runDocs('--root', dir).status).toBe(0);
    expect(readFileSync(join(dir, 'actions/validate/README.md'), 'utf8')).toContain('| `report-dir` | no |  | Changed. ');
    expect(runDocs('--check', '--root', dir).status).toBe(0);
  });
});

/** `<!-- example: valid|invalid -->` followed by a yaml code block, in the guides. */
function examples(file: string): { kind: string; yaml: string; after: string }[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  return [...text.matchAll(/<!-- example: (valid|invalid) -->\n```yaml\n([\s\S]*?)```/g)].map((match) => ({
    kind: match[1]!,
    yaml: match[2]!,
    after: text.slice(match.index + match[0].length),
  }));
}

/** Any ${secret:NAME} gets a value, as the action's secrets input would give it. */
const anySecret = new Proxy({} as Record<string, string>, { get: (_, name) => (typeof name === 'string' ? `value-of-${name}` : undefined) });

describe('configuration examples in the docs', () => {
  it.each(['docs/configuration.md', 'docs/getting-started.md'])('every example marked valid in %s loads and plans each environment', (file) => {
    const valid = examples(file).filter((example) => example.kind === 'valid');
    expect(valid.length).toBeGreaterThan(0);
    for (const { yaml } of valid) {
      const loaded = parseConfig(yaml, '.github/rollgate.yml', { env: {}, secrets: new Secrets(), secretValues: anySecret });
      if (!loaded.ok) throw new Error(loaded.problems.map(formatProblem).join('\n'));
      for (const environment of Object.keys(loaded.config.environments)) {
        const planned = planChecks(loaded.config, environment, loaded.source);
        if (!planned.ok) throw new Error(planned.problems.map(formatProblem).join('\n'));
      }
    }
  });

  it('the invalid example in docs/configuration.md gives exactly the problems the page shows', () => {
    const [invalid] = examples('docs/configuration.md').filter((example) => example.kind === 'invalid');
    const shown = /```text\n([\s\S]*?)```/.exec(invalid!.after)![1]!.trim().split('\n');
    const file = '/tmp/app/.github/rollgate.yml';
    const loaded = parseConfig(invalid!.yaml, file, { env: {}, secrets: new Secrets() });
    expect(loaded.ok).toBe(false);
    const problems = loaded.ok ? [] : loaded.problems;
    expect([...problems.map(formatProblem), `rollgate: ${problems.length} problem(s); nothing was checked.`]).toEqual(shown);
  });
});
