/**
 * Every workflow we ship or show (.github/workflows, docs/examples) uses our actions as their action.yml defines them:
 * every `with:` key is an input, every required input is given, and every `uses:` path resolves.
 */
import { describe, expect, it } from '@jest/globals';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { load } from 'js-yaml';
import { ROOT } from '../support/run-action.js';

interface Step {
  uses?: string;
  with?: Record<string, unknown>;
}
interface ActionMeta {
  inputs?: Record<string, { required?: boolean; default?: unknown }>;
}

function workflowFiles(): string[] {
  return ['.github/workflows', 'docs/examples']
    .map((dir) => join(ROOT, dir))
    .filter((dir) => existsSync(dir))
    .flatMap((dir) => readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).map((f) => join(dir, f)));
}

/** `./actions/x` or `rollgate/rollgate/actions/x@ref` -> `x`; anything else is not ours. */
function ourAction(uses: string): string | undefined {
  return /^(?:\.\/|rollgate\/rollgate\/)actions\/([a-z-]+)(?:@.+)?$/.exec(uses)?.[1];
}

function steps(file: string): Step[] {
  const doc = load(readFileSync(file, 'utf8')) as { jobs?: Record<string, { steps?: Step[] }> };
  return Object.values(doc.jobs ?? {}).flatMap((job) => job.steps ?? []);
}

describe('workflows that use our actions', () => {
  const files = workflowFiles();

  it('finds workflows to check', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  it.each(files.map((f) => [f.slice(ROOT.length + 1), f]))('%s passes only inputs the action defines, and every required one', (_name, file) => {
    const problems: string[] = [];
    for (const step of steps(file)) {
      const name = step.uses ? ourAction(step.uses) : undefined;
      if (!name) continue;
      const metaFile = join(ROOT, 'actions', name, 'action.yml');
      if (!existsSync(metaFile)) {
        problems.push(`${step.uses}: no actions/${name}/action.yml`);
        continue;
      }
      const inputs = (load(readFileSync(metaFile, 'utf8')) as ActionMeta).inputs ?? {};
      for (const key of Object.keys(step.with ?? {})) {
        if (!(key in inputs)) problems.push(`${step.uses}: "${key}" is not an input (inputs: ${Object.keys(inputs).join(', ')})`);
      }
      for (const [key, input] of Object.entries(inputs)) {
        if (input.required && input.default === undefined && !(key in (step.with ?? {}))) problems.push(`${step.uses}: required input "${key}" is missing`);
      }
    }
    expect(problems).toEqual([]);
  });
});
