/** Pieces every action entry shares: cancellation, and configuration problems as annotations. */
import { formatProblem, type ConfigProblem } from '../config/errors.js';
import type { Host } from './host.js';

/** A cancelled job gets SIGINT, then SIGTERM: the signal lets the engine stop and still publish what it saw. */
export function cancellationSignal(): AbortSignal {
  const cancel = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => cancel.abort(new Error('the run was cancelled')));
  return cancel.signal;
}

/** One error annotation per problem, placed on the file and line when the problem has them. */
export function annotateProblems(host: Host, problems: readonly ConfigProblem[]): string {
  for (const problem of problems) {
    host.error(formatProblem(problem), problem.file ? { file: problem.file, line: problem.line, col: problem.col, title: 'rollgate config' } : {});
  }
  return `configuration has ${problems.length} problem(s); see the errors above`;
}
