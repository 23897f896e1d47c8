/**
 * Runs every benchmark in turn and prints their tables (npm run bench). Each script can also run alone; see its header.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const scripts = ['cold-start.ts', 'load-vs-autocannon.ts', 'fanout.ts'];
let failed = false;
for (const script of scripts) {
  const run = spawnSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, script)], { stdio: 'inherit' });
  if (run.status !== 0) {
    failed = true;
    console.error(`${script} failed (exit ${run.status})`);
  }
}
process.exit(failed ? 1 : 0);
