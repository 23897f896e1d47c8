/** Runs a process to its end, collecting its output: the one place tests start our bundles and the CLI. */
import { spawn } from 'node:child_process';

export interface ProcessRun {
  code: number | null;
  stdout: string;
  stderr: string;
  durationMs: number;
}

export interface ProcessOptions {
  env: Record<string, string>;
  cwd?: string;
  /** Killed with SIGKILL after this long (default 60 s): a hung process fails the test instead of hanging it. */
  timeoutMs?: number;
  /** Sends SIGTERM after this long, as a cancelled job or a Ctrl-C would. */
  terminateAfterMs?: number;
}

export async function runProcess(command: string, args: string[], options: ProcessOptions): Promise<ProcessRun> {
  const started = Date.now();
  const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
  const terminator = options.terminateAfterMs !== undefined ? setTimeout(() => child.kill('SIGTERM'), options.terminateAfterMs) : undefined;
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  clearTimeout(killer);
  clearTimeout(terminator);
  return { code, stdout, stderr, durationMs: Date.now() - started };
}
