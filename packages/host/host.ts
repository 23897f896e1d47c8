/**
 * The Host port: everything an engine entry point needs from where it runs (GitHub Actions runner or a terminal).
 * Engines never import @actions/core or touch process.stdout directly.
 */
import type { Logger } from '../checks/model.js';

export interface Annotation {
  title?: string;
  file?: string;
  line?: number;
  col?: number;
}

export interface Host extends Logger {
  error(message: string, annotation?: Annotation): void;
  group<T>(name: string, work: () => Promise<T>): Promise<T>;
  setOutput(name: string, value: string): void;
  /** Appends markdown to the run's summary (job summary on GitHub; ignored or a file elsewhere). */
  appendSummary(markdown: string): Promise<void>;
  /** Tells the host a value is secret so its own output masking covers it too. */
  setSecret(value: string): void;
}
