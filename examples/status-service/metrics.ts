/**
 * Prometheus metrics of the example service, written in the text exposition format (version 0.0.4) by hand:
 * the format is small and the service has a handful of series. Every series carries the service's `version` label,
 * so a rollout can compare the old and the new version side by side.
 */

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Upper bounds (seconds) of the latency histogram buckets; `+Inf` is added when written. */
export const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

interface DurationSeries {
  buckets: number[];
  sum: number;
  count: number;
}

export interface Gauges {
  breakerState: number;
  up: number;
  dependencyUp: number;
  ready: number;
  uptimeSeconds: number;
}

export class ServiceMetrics {
  private readonly requests = new Map<string, number>();
  private readonly durations = new Map<string, DurationSeries>();

  constructor(private readonly version: string) {}

  /** Records one answered request. `route` must be a route template (bounded cardinality), never a raw path. */
  observe(route: string, code: number, seconds: number): void {
    const key = `${route}\u0000${code}`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    let series = this.durations.get(route);
    if (!series) {
      series = { buckets: DURATION_BUCKETS.map(() => 0), sum: 0, count: 0 };
      this.durations.set(route, series);
    }
    DURATION_BUCKETS.forEach((bound, index) => {
      if (seconds <= bound) series.buckets[index]! += 1;
    });
    series.sum += seconds;
    series.count += 1;
  }

  /** Request counts by route, for the status document. */
  countsByRoute(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [key, count] of this.requests) {
      const route = key.split('\u0000')[0]!;
      out[route] = (out[route] ?? 0) + count;
    }
    return out;
  }

  totals(): { total: number; errors: number } {
    let total = 0;
    let errors = 0;
    for (const [key, count] of this.requests) {
      total += count;
      if (Number(key.split('\u0000')[1]) >= 500) errors += count;
    }
    return { total, errors };
  }

  /** The whole exposition, ending with a newline as the format requires. */
  render(gauges: Gauges): string {
    const v = { version: this.version };
    const lines: string[] = [];

    lines.push('# HELP http_requests_total Requests answered, by route template and status code.');
    lines.push('# TYPE http_requests_total counter');
    for (const [key, count] of [...this.requests].sort(([a], [b]) => a.localeCompare(b))) {
      const [route, code] = key.split('\u0000') as [string, string];
      lines.push(sample('http_requests_total', { ...v, route, code }, count));
    }

    lines.push('# HELP http_request_duration_seconds Time from request to response, by route template.');
    lines.push('# TYPE http_request_duration_seconds histogram');
    for (const [route, series] of [...this.durations].sort(([a], [b]) => a.localeCompare(b))) {
      DURATION_BUCKETS.forEach((bound, index) => {
        lines.push(sample('http_request_duration_seconds_bucket', { ...v, route, le: formatNumber(bound) }, series.buckets[index]!));
      });
      lines.push(sample('http_request_duration_seconds_bucket', { ...v, route, le: '+Inf' }, series.count));
      lines.push(sample('http_request_duration_seconds_sum', { ...v, route }, series.sum));
      lines.push(sample('http_request_duration_seconds_count', { ...v, route }, series.count));
    }

    gauge(lines, 'rollgate_example_breaker_state', 'Circuit breaker around the dependency: 0 closed, 1 open, 2 half-open, -1 disabled.', v, gauges.breakerState);
    gauge(lines, 'rollgate_example_up', 'Always 1 while the service answers scrapes.', v, gauges.up);
    gauge(lines, 'rollgate_example_dependency_up', '1 while the simulated dependency answers, 0 while it is down.', v, gauges.dependencyUp);
    gauge(lines, 'rollgate_example_ready', '1 while /ready answers 200.', v, gauges.ready);
    gauge(lines, 'rollgate_example_uptime_seconds', 'Seconds since the service started.', v, gauges.uptimeSeconds);
    return `${lines.join('\n')}\n`;
  }
}

function gauge(lines: string[], name: string, help: string, labels: Record<string, string>, value: number): void {
  lines.push(`# HELP ${name} ${escapeHelp(help)}`);
  lines.push(`# TYPE ${name} gauge`);
  lines.push(sample(name, labels, value));
}

function sample(name: string, labels: Record<string, string>, value: number): string {
  const rendered = Object.entries(labels)
    .map(([label, text]) => `${label}="${escapeLabelValue(text)}"`)
    .join(',');
  return `${name}{${rendered}} ${formatNumber(value)}`;
}

/** Label values escape backslash, double quote and line feed (and nothing else). */
export function escapeLabelValue(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** HELP text escapes backslash and line feed. */
function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function formatNumber(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}
