/**
 * The validation report: one JSON document per run, versioned (docs/report-schema.md). Renderers (text, markdown,
 * job summary) read only this, so every host shows the same result.
 */
import type { CheckResult } from '../checks/model.js';

export const REPORT_SCHEMA_VERSION = 1;

export interface ReportSummary {
  total: number;
  passed: number;
  failed: number;
  errored: number;
  noData: number;
  /** Optional checks that did not pass (reported, not counted against the verdict). */
  optionalNotPassed: number;
  /** Required checks that did not pass: what `failed-count` reports. */
  requiredNotPassed: number;
}

export interface ValidationReport {
  schemaVersion: typeof REPORT_SCHEMA_VERSION;
  kind: 'validation';
  tool: { name: 'rollgate'; version: string };
  service?: string;
  environment: string;
  /** Where the config came from: a file path, or "inputs" for zero-config runs. */
  source: string;
  startedAt: string;
  durationMs: number;
  verdict: 'passed' | 'failed';
  summary: ReportSummary;
  checks: CheckResult[];
}

export function summarize(checks: CheckResult[]): ReportSummary {
  const count = (predicate: (c: CheckResult) => boolean) => checks.filter(predicate).length;
  return {
    total: checks.length,
    passed: count((c) => c.outcome === 'pass'),
    failed: count((c) => c.outcome === 'fail'),
    errored: count((c) => c.outcome === 'error'),
    noData: count((c) => c.outcome === 'no-data'),
    optionalNotPassed: count((c) => c.optional && c.outcome !== 'pass'),
    requiredNotPassed: count((c) => !c.optional && c.outcome !== 'pass'),
  };
}

export function buildReport(input: {
  version: string;
  service?: string | undefined;
  environment: string;
  source: string;
  startedAt: string;
  durationMs: number;
  checks: CheckResult[];
}): ValidationReport {
  const summary = summarize(input.checks);
  // A run passes only when it saw something pass: no checks at all, or only optional checks that all failed, verified nothing.
  const verdict = summary.passed > 0 && summary.requiredNotPassed === 0 ? 'passed' : 'failed';
  return {
    schemaVersion: REPORT_SCHEMA_VERSION,
    kind: 'validation',
    tool: { name: 'rollgate', version: input.version },
    ...(input.service ? { service: input.service } : {}),
    environment: input.environment,
    source: input.source,
    startedAt: input.startedAt,
    durationMs: input.durationMs,
    verdict,
    summary,
    checks: input.checks,
  };
}
