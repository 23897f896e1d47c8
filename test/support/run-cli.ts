/** Runs the committed CLI bundle through ./bin/rollgate, as a user would. */
import { runProcess, type ProcessRun } from './process.js';
import { join } from 'node:path';
import { ROOT } from './run-action.js';

export type CliRun = ProcessRun;

export async function runCli(
  args: string[],
  options: { env?: Record<string, string>; cwd?: string; timeoutMs?: number; terminateAfterMs?: number } = {},
): Promise<CliRun> {
  return runProcess(join(ROOT, 'bin/rollgate'), args, {
    cwd: options.cwd ?? ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NO_COLOR: '1', ...options.env },
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    ...(options.terminateAfterMs !== undefined ? { terminateAfterMs: options.terminateAfterMs } : {}),
  });
}
