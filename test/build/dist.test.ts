import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { ROOT } from '../support/run-action.js';
import { buildJsonSchema } from '../../packages/config/json-schema.js';
import { ROLLGATE_VERSION } from '../../packages/version.js';

function listFiles(root: string, dir = root): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...listFiles(root, path));
    else out.push(relative(root, path));
  }
  return out.sort();
}

describe('committed artefacts', () => {
  it('dist/ equals a fresh build of the sources', () => {
    const out = mkdtempSync(join(tmpdir(), 'rollgate-build-'));
    try {
      execFileSync(process.execPath, [join(ROOT, 'scripts/build.mjs'), out], { cwd: ROOT, stdio: 'pipe' });
      const fresh = listFiles(out);
      expect(listFiles(join(ROOT, 'dist'))).toEqual(fresh);
      const stale = fresh.filter((file) => !readFileSync(join(out, file)).equals(readFileSync(join(ROOT, 'dist', file))));
      expect({ stale, hint: 'run npm run build and commit dist/' }).toEqual({ stale: [], hint: 'run npm run build and commit dist/' });
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 300_000);

  it('schema/rollgate.schema.json equals the schema generated from the zod source', () => {
    const committed = readFileSync(join(ROOT, 'schema/rollgate.schema.json'), 'utf8');
    expect(committed).toBe(`${JSON.stringify(buildJsonSchema(), null, 2)}\n`);
  });

  it('the version compiled into the bundles is the package version', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(ROLLGATE_VERSION).toBe(pkg.version);
  });
});
