/** Host adapter for the GitHub Actions runner, over @actions/core. All text passes through the secrets registry. */
import * as core from '@actions/core';
import type { Secrets } from '../config/secrets.js';
import type { Annotation, Host } from './host.js';

export function actionsHost(secrets: Secrets): Host {
  // core.setSecret masks a value in the runner's log; register every line of multi-line values too.
  secrets.onAdd((value) => core.setSecret(value));
  // Untrusted text (versions, server answers, command output) must not start a line with `::`, or the runner would
  // obey it as a workflow command (::set-output, ::add-mask, ::stop-commands...). A zero-width space defuses it.
  const clean = (text: string) => secrets.redact(text).replace(/(^|\n)([ \t]*)::/g, '$1$2\u200b::');
  return {
    debug: (message) => core.debug(clean(message)),
    info: (message) => core.info(clean(message)),
    warning: (message) => core.warning(clean(message)),
    error: (message, annotation?: Annotation) =>
      core.error(clean(message), {
        ...(annotation?.title ? { title: clean(annotation.title) } : {}),
        ...(annotation?.file ? { file: annotation.file } : {}),
        ...(annotation?.line ? { startLine: annotation.line } : {}),
        ...(annotation?.col ? { startColumn: annotation.col } : {}),
      }),
    group: (name, work) => core.group(clean(name), work),
    setOutput: (name, value) => core.setOutput(name, clean(value)),
    appendSummary: async (markdown) => {
      if (!process.env.GITHUB_STEP_SUMMARY) return;
      await core.summary.addRaw(clean(markdown), true).write();
    },
    setSecret: (value) => secrets.add(value),
  };
}

/** Reads an input the way the runner passes it (INPUT_<NAME>), trimmed; '' when absent. */
export function input(name: string): string {
  return core.getInput(name);
}
