/** Host adapter for a terminal: progress and logs on stderr (stdout stays for the result), colour only on a TTY. */
import type { Secrets } from '../config/secrets.js';
import type { Host } from './host.js';

export interface CliHostOptions {
  verbose?: boolean;
  quiet?: boolean;
  stderr?: NodeJS.WritableStream & { isTTY?: boolean };
}

export function cliHost(secrets: Secrets, options: CliHostOptions = {}): Host & { outputs: Record<string, string> } {
  const err = options.stderr ?? process.stderr;
  const color = Boolean(err.isTTY) && !process.env.NO_COLOR;
  const paint = (code: number, text: string) => (color ? `\u001b[${code}m${text}\u001b[0m` : text);
  const write = (text: string) => err.write(`${secrets.redact(text)}\n`);
  const outputs: Record<string, string> = {};
  let depth = '';
  return {
    outputs,
    debug: (message) => {
      if (options.verbose) write(`${depth}${paint(90, message)}`);
    },
    info: (message) => {
      if (!options.quiet) write(`${depth}${message}`);
    },
    warning: (message) => write(`${depth}${paint(33, `warning: ${message}`)}`),
    error: (message, annotation) => {
      const where = annotation?.file ? `${annotation.file}${annotation.line ? `:${annotation.line}` : ''}: ` : '';
      write(`${depth}${paint(31, `error: ${where}${message}`)}`);
    },
    group: async (name, work) => {
      if (!options.quiet) write(`${depth}${paint(1, name)}`);
      const saved = depth;
      depth = `${saved}  `;
      try {
        return await work();
      } finally {
        depth = saved;
      }
    },
    setOutput: (name, value) => {
      outputs[name] = secrets.redact(value);
    },
    appendSummary: async () => undefined,
    setSecret: (value) => secrets.add(value),
  };
}
