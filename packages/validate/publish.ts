/** Presents a validation report through a Host: outputs, an annotation per failed check, and the capped job summary. */
import type { Host } from '../host/host.js';
import type { ValidationReport } from '../report/model.js';
import { renderSummary } from '../report/render.js';

export async function publishValidation(report: ValidationReport, reportPath: string, host: Host): Promise<void> {
  for (const check of report.checks) {
    if (check.outcome === 'pass') continue;
    const text = `${check.name} (${check.kind}, ${check.target}): ${check.message}`;
    if (check.optional) host.warning(`optional check did not pass: ${text}`);
    else host.error(text, { title: `rollgate: ${check.name} ${check.outcome}` });
  }
  host.setOutput('passed', String(report.verdict === 'passed'));
  host.setOutput('failed-count', String(report.summary.requiredNotPassed));
  host.setOutput('report-path', reportPath);
  await host.appendSummary(renderSummary(report, { reportPath }));
}
