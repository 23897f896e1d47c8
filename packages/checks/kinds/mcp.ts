/**
 * The `mcp` check: one attempt at an MCP server over Streamable HTTP, legacy HTTP+SSE or stdio, with the official
 * client. It reports what the server is (negotiated protocol version, name and version, capabilities, tools,
 * resources, prompts) and judges the expectations: minimum protocol version, server name, required tools, resources
 * and prompts, tool drift against a recorded snapshot, an optional tool call with conditions on its result, and
 * latency.
 *
 * Retries, breakers and the run deadline belong to the runner; this module makes one attempt and always closes the
 * session (and any stdio child) before it returns.
 */
import { isAbsolute, relative, resolve } from 'node:path';
import { ProtocolError, SdkError, SdkErrorCode, type CallToolResult, type Tool } from '@modelcontextprotocol/client';
import type { McpCheckSpec } from '../../config/schema.js';
import { formatDuration } from '../../config/duration.js';
import type { Assertion, AttemptContext, AttemptResult, CheckExecutor } from '../model.js';
import { checkConditions } from '../conditions.js';
import {
  AttemptBudget,
  AttemptStopped,
  McpProblem,
  clip,
  describeTarget,
  innermostMessage,
  oneLine,
  openMcpSession,
  redactorFor,
  resolveHeaders,
  withSdkConsole,
  type McpSession,
} from './mcp-session.js';
import { compareTools, describeDrift, hasDrift, readSnapshot, snapshotEntries, writeSnapshot } from './mcp-snapshot.js';

export type { McpTransportKind } from './mcp-session.js';

/** How users re-record a snapshot; the CLI exposes this command. */
export function snapshotRecordHint(checkName: string, snapshotPath: string): string {
  return `record it from a known-good server with \`rollgate mcp-snapshot --config <file> --check "${checkName}"\` (writes ${snapshotPath}), review it and commit it`;
}

export const runMcpCheck: CheckExecutor<McpCheckSpec> = (spec, ctx) => withSdkConsole(ctx.log, () => runAttempt(spec, ctx));

async function runAttempt(spec: McpCheckSpec, ctx: AttemptContext): Promise<AttemptResult> {
  const redact = redactorFor(resolveHeaders(spec).secretValues);
  const target = describeTarget(spec, redact);
  if (ctx.signal.aborted) {
    return { outcome: 'error', errorKind: 'deadline', message: `${target}: not started, the deadline had already passed`, assertions: [], measurements: {} };
  }
  const budget = new AttemptBudget(ctx);
  let session: McpSession | undefined;
  try {
    session = await openMcpSession(spec, ctx, budget);
    return await inspect(spec, ctx, session, budget, redact);
  } catch (error) {
    return problemResult(error, target, budget, session, redact);
  } finally {
    await session?.close();
    budget.dispose();
  }
}

/**
 * Connects with the check's settings, lists the tools and writes them as a snapshot file (default: the check's
 * `expect.toolSnapshot`, relative to `ctx.baseDir`). Throws an Error with a user-facing message when the server
 * cannot be reached or the check names no snapshot path.
 */
export function recordToolSnapshot(
  spec: McpCheckSpec,
  ctx: AttemptContext,
  path: string | undefined = spec.expect?.toolSnapshot,
): Promise<{ path: string; tools: string[] }> {
  return withSdkConsole(ctx.log, () => recordSnapshot(spec, ctx, path));
}

async function recordSnapshot(spec: McpCheckSpec, ctx: AttemptContext, path: string | undefined): Promise<{ path: string; tools: string[] }> {
  if (!path) throw new Error(`check "${spec.name}" has no expect.toolSnapshot path; set one (e.g. mcp-tools.snapshot.json) or pass a path`);
  const file = isAbsolute(path) ? path : resolve(ctx.baseDir, path);
  const redact = redactorFor(resolveHeaders(spec).secretValues);
  const budget = new AttemptBudget(ctx);
  let session: McpSession | undefined;
  try {
    session = await openMcpSession(spec, ctx, budget);
    budget.phase = 'listing tools';
    const { tools } = await budget.race(session.client.listTools(undefined, { timeout: budget.requestTimeout(), signal: budget.signal }));
    const entries = snapshotEntries(tools);
    budget.phase = `writing ${file}`;
    await writeSnapshot(file, entries);
    return { path: file, tools: entries.map((t) => t.name) };
  } catch (error) {
    const result = problemResult(error, describeTarget(spec, redact), budget, session, redact);
    throw new Error(`could not record the tool snapshot: ${result.message}`, { cause: error });
  } finally {
    await session?.close();
    budget.dispose();
  }
}

interface Listing<T> {
  items: T[];
  /** Set when the server does not advertise the capability (nothing was asked). */
  unsupported?: boolean;
  /** Set when the server answered the list request with an error. */
  error?: string;
}

async function inspect(spec: McpCheckSpec, ctx: AttemptContext, session: McpSession, budget: AttemptBudget, redact: (s: string) => string): Promise<AttemptResult> {
  const { client } = session;
  const expect = spec.expect ?? {};
  const measurements: Record<string, number> = { connect_ms: round(session.connectMs) };
  const notes = [...session.notes];
  const requestOptions = () => ({ timeout: budget.requestTimeout(), signal: budget.signal });

  const version = client.getNegotiatedProtocolVersion() ?? 'unknown';
  const era = client.getProtocolEra();
  const server = client.getServerVersion();
  const capabilities = client.getServerCapabilities() ?? {};

  // A cheap round trip. ping does not exist on the 2026-07-28 revision; server/discover is its cheap equivalent.
  budget.phase = era === 'modern' ? 'measuring a round trip (server/discover)' : 'measuring a round trip (ping)';
  const rttStart = performance.now();
  try {
    if (era === 'modern') await budget.race(client.discover(requestOptions()));
    else await budget.race(client.ping(requestOptions()));
    measurements.rtt_ms = round(performance.now() - rttStart);
  } catch (error) {
    if (!isAnswer(error)) throw error;
    notes.push(`round trip not measured: the server answered ${era === 'modern' ? 'server/discover' : 'ping'} with an error (${innermostMessage(error, 300, redact)})`);
  }

  budget.phase = 'listing tools';
  const tools = await list<Tool>(capabilities.tools !== undefined, async () => (await budget.race(client.listTools(undefined, requestOptions()))).tools, redact);
  budget.phase = 'listing resources';
  const resources = await list(capabilities.resources !== undefined, async () => (await budget.race(client.listResources(undefined, requestOptions()))).resources, redact);
  budget.phase = 'listing prompts';
  const prompts = await list(capabilities.prompts !== undefined, async () => (await budget.race(client.listPrompts(undefined, requestOptions()))).prompts, redact);
  measurements.tools_count = tools.items.length;
  measurements.resources_count = resources.items.length;
  measurements.prompts_count = prompts.items.length;

  const assertions: Assertion[] = [
    {
      expectation: 'completes the MCP handshake',
      passed: true,
      observed: `protocol ${version} over ${session.transport} in ${formatDuration(session.connectMs)}`,
    },
  ];

  if (expect.minProtocolVersion) assertions.push(protocolAssertion(version, expect.minProtocolVersion));
  if (expect.serverName !== undefined) assertions.push(serverNameAssertion(server, expect.serverName));
  if (expect.tools?.length) assertions.push(presenceAssertion('tools', expect.tools, tools, (t) => [t.name]));
  if (expect.resources?.length) {
    let templates: Listing<{ uriTemplate: string; name: string }> = { items: [] };
    const known = new Set(resources.items.flatMap((r) => [r.uri, r.name]));
    if (capabilities.resources !== undefined && expect.resources.some((r) => !known.has(r))) {
      budget.phase = 'listing resource templates';
      templates = await list(true, async () => (await budget.race(client.listResourceTemplates(undefined, requestOptions()))).resourceTemplates, redact);
    }
    const combined: Listing<{ uri: string; name: string }> = {
      ...resources,
      items: [...resources.items, ...templates.items.map((t) => ({ uri: t.uriTemplate, name: t.name }))],
    };
    assertions.push(presenceAssertion('resources', expect.resources, combined, (r) => [r.uri, r.name]));
  }
  if (expect.prompts?.length) assertions.push(presenceAssertion('prompts', expect.prompts, prompts, (p) => [p.name]));
  if (expect.toolSnapshot) assertions.push(await snapshotAssertion(spec, ctx, expect.toolSnapshot, tools));

  let toolCall: Record<string, unknown> | undefined;
  if (spec.call) {
    const call = spec.call;
    budget.phase = `calling tool "${call.tool}"`;
    const callStart = performance.now();
    let result: CallToolResult | undefined;
    let refusal: string | undefined;
    try {
      result = await budget.race(client.callTool({ name: call.tool, arguments: call.arguments ?? {} }, requestOptions()));
    } catch (error) {
      if (!isAnswer(error)) throw error;
      refusal = innermostMessage(error, 300, redact);
    }
    measurements.tool_call_ms = round(performance.now() - callStart);
    const callAssertions = toolCallAssertions(call.tool, call.expect ?? [], result, refusal, tools);
    assertions.push(...callAssertions);
    toolCall = summarizeCall(call.tool, result, refusal, measurements.tool_call_ms);
  }

  const latency = budget.elapsed();
  measurements.latency_ms = round(latency);
  if (expect.maxLatency !== undefined) {
    const passed = latency <= expect.maxLatency;
    assertions.push({
      expectation: `latency <= ${formatDuration(expect.maxLatency)}`,
      passed,
      observed: formatLatency(measurements),
      ...(passed ? {} : { message: `took ${formatDuration(latency)}, more than the allowed ${formatDuration(expect.maxLatency)} (${formatLatency(measurements)})` }),
    });
  }

  for (const [label, listing] of [['tools', tools], ['resources', resources], ['prompts', prompts]] as const) {
    if (listing.error) notes.push(`${label}/list failed: ${listing.error}`);
  }

  const details: Record<string, unknown> = {
    transport: session.transport,
    negotiatedProtocolVersion: version,
    ...(era ? { protocolEra: era } : {}),
    ...(server?.name !== undefined ? { serverName: server.name } : {}),
    ...(server?.title ? { serverTitle: server.title } : {}),
    ...(server?.version !== undefined ? { serverVersion: server.version } : {}),
    capabilities: Object.keys(capabilities).sort(),
    tools: tools.items.map((t) => t.name),
    resources: resources.items.map((r) => r.uri),
    prompts: prompts.items.map((p) => p.name),
    ...(toolCall ? { toolCall } : {}),
    ...(notes.length ? { notes } : {}),
  };

  const failed = assertions.filter((a) => !a.passed);
  const serverText = server ? `"${server.name}"${server.version ? ` ${server.version}` : ''}` : 'anonymous server';
  const message = failed.length
    ? `${session.where}: ${failed.map((a) => a.message ?? `${a.expectation}: not met`).join('; ')}`
    : `${session.where}: MCP ${serverText} answered over ${session.transport}, protocol ${version}, ${tools.items.length} tool(s), in ${formatDuration(latency)}`;
  return { outcome: failed.length ? 'fail' : 'pass', message: redact(message), assertions: assertions.map((a) => redactAssertion(a, redact)), measurements, details };
}

/** Lists one kind of primitive. A JSON-RPC error answer is recorded, not thrown; transport problems are thrown. */
async function list<T>(advertised: boolean, fetch: () => Promise<T[]>, redact: (s: string) => string): Promise<Listing<T>> {
  if (!advertised) return { items: [], unsupported: true };
  try {
    return { items: await fetch() };
  } catch (error) {
    if (!isAnswer(error)) throw error;
    return { items: [], error: innermostMessage(error, 300, redact) };
  }
}

/** True when the server answered (with an error or an invalid result), as opposed to not answering at all. */
function isAnswer(error: unknown): boolean {
  if (error instanceof ProtocolError) return true;
  return error instanceof SdkError && (error.code === SdkErrorCode.InvalidResult || error.code === SdkErrorCode.MethodNotSupportedByProtocolVersion);
}

function protocolAssertion(version: string, minimum: string): Assertion {
  const expectation = `protocol version >= ${minimum}`;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(version)) {
    return { expectation, passed: false, observed: version, message: `negotiated protocol version "${version}" is not a dated revision, cannot compare it with ${minimum}` };
  }
  const passed = version >= minimum;
  return {
    expectation,
    passed,
    observed: version,
    ...(passed ? {} : { message: `negotiated protocol version ${version} is older than the required ${minimum} (the server supports no newer revision that the client also speaks)` }),
  };
}

function serverNameAssertion(server: { name: string; title?: string } | undefined, wanted: string): Assertion {
  const expectation = `server name is "${wanted}"`;
  if (!server) return { expectation, passed: false, message: `the server did not identify itself (no serverInfo), expected "${wanted}"` };
  const observed = server.title ? `${server.name} (${server.title})` : server.name;
  const passed = server.name === wanted;
  return { expectation, passed, observed, ...(passed ? {} : { message: `server name is "${server.name}", expected "${wanted}"` }) };
}

function presenceAssertion<T>(label: 'tools' | 'resources' | 'prompts', wanted: readonly string[], listing: Listing<T>, keys: (item: T) => string[]): Assertion {
  const expectation = `${label} include ${wanted.join(', ')}`;
  const names = listing.items.map((item) => keys(item)[0]!);
  const observed = names.length ? clip(`${names.length}: ${names.join(', ')}`, 300) : 'none';
  if (listing.unsupported) {
    return { expectation, passed: false, observed: 'capability not advertised', message: `missing ${label}: ${wanted.join(', ')} (the server does not advertise the ${label} capability)` };
  }
  if (listing.error) return { expectation, passed: false, message: `could not list ${label}: ${listing.error}` };
  const known = new Set(listing.items.flatMap(keys));
  const missing = wanted.filter((name) => !known.has(name));
  if (!missing.length) return { expectation, passed: true, observed };
  return { expectation, passed: false, observed, message: `missing ${label}: ${missing.join(', ')} (server lists ${observed})` };
}

async function snapshotAssertion(spec: McpCheckSpec, ctx: AttemptContext, snapshotPath: string, tools: Listing<Tool>): Promise<Assertion> {
  const file = isAbsolute(snapshotPath) ? snapshotPath : resolve(ctx.baseDir, snapshotPath);
  const shown = isAbsolute(snapshotPath) ? snapshotPath : relative(process.cwd(), file) || snapshotPath;
  const expectation = `tools match the snapshot ${snapshotPath}`;
  if (tools.error) return { expectation, passed: false, message: `could not list tools to compare with ${shown}: ${tools.error}` };
  const read = await readSnapshot(file);
  if (read.kind === 'missing') {
    return { expectation, passed: false, message: `tool snapshot ${shown} does not exist; ${snapshotRecordHint(spec.name, shown)}` };
  }
  if (read.kind === 'invalid') return { expectation, passed: false, message: `tool snapshot unusable: ${read.message}` };
  const drift = compareTools(read.tools, snapshotEntries(tools.items));
  if (!hasDrift(drift)) return { expectation, passed: true, observed: `${read.tools.length} tool(s), names and input schemas unchanged` };
  return {
    expectation,
    passed: false,
    observed: describeDrift(drift),
    message: `tool drift against ${shown}: ${describeDrift(drift)}; if the change is intended, re-record the snapshot`,
  };
}

function toolCallAssertions(tool: string, conditions: readonly string[], result: CallToolResult | undefined, refusal: string | undefined, tools: Listing<Tool>): Assertion[] {
  if (!result) {
    const listed = tools.items.some((t) => t.name === tool);
    const hint = listed || tools.unsupported || tools.error ? '' : ` (the server lists no tool "${tool}"; it has ${clip(tools.items.map((t) => t.name).join(', ') || 'none', 200)})`;
    return [
      { expectation: `tool "${tool}" can be called`, passed: false, message: `calling tool "${tool}" failed: ${refusal ?? 'no result'}${hint}` },
      ...conditions.map((text) => ({ expectation: text.trim(), passed: false, message: `not checked: the call to "${tool}" failed` })),
    ];
  }
  const text = resultText(result);
  const call: Assertion = result.isError
    ? { expectation: `tool "${tool}" succeeds`, passed: false, observed: 'isError: true', message: `tool "${tool}" returned isError: true${text ? `: ${oneLine(text, 300)}` : ''}` }
    : { expectation: `tool "${tool}" succeeds`, passed: true, observed: text ? oneLine(text) : 'no text content' };
  const judged = checkConditions(conditions, result).map((a) =>
    a.passed || !a.message ? a : { ...a, message: `tool "${tool}" result: ${a.message}` },
  );
  return [call, ...judged];
}

function resultText(result: CallToolResult): string {
  return (result.content ?? [])
    .filter((c): c is Extract<typeof c, { type: 'text' }> => c.type === 'text')
    .map((c) => c.text)
    .join('\n')
    .trim();
}

function summarizeCall(tool: string, result: CallToolResult | undefined, refusal: string | undefined, ms: number): Record<string, unknown> {
  if (!result) return { tool, ok: false, error: refusal, durationMs: ms };
  const text = resultText(result);
  const structured = result.structuredContent === undefined ? undefined : JSON.stringify(result.structuredContent);
  return {
    tool,
    ok: !result.isError,
    isError: result.isError === true,
    durationMs: ms,
    contentTypes: (result.content ?? []).map((c) => c.type),
    ...(text ? { text: clip(text, 500) } : {}),
    ...(structured !== undefined ? (structured.length <= 2000 ? { structuredContent: result.structuredContent } : { structuredContentBytes: structured.length }) : {}),
  };
}

function problemResult(error: unknown, target: string, budget: AttemptBudget, session: McpSession | undefined, redact: (s: string) => string): AttemptResult {
  const where = session?.where ?? target;
  let problem: McpProblem;
  if (error instanceof McpProblem) problem = error;
  else if (budget.stopped(where)) problem = budget.stopped(where)!;
  else if (error instanceof AttemptStopped) problem = new McpProblem('error', `${where}: stopped while ${budget.phase}`, 'deadline');
  else if (error instanceof SdkError && error.code === SdkErrorCode.RequestTimeout) {
    problem = new McpProblem('error', `${where}: no answer while ${budget.phase} within ${formatDuration(budget.elapsed())}`, 'timeout');
  } else if (error instanceof SdkError && error.code === SdkErrorCode.ConnectionClosed) {
    problem = new McpProblem('error', `${where}: the connection closed while ${budget.phase}`, 'reset');
  } else {
    problem = new McpProblem('error', `${where}: failed while ${budget.phase}: ${innermostMessage(error, 200, redact)}`, 'protocol');
  }
  // One line and bounded, whatever went into it: this is what logs, summaries and annotations show.
  const message = oneLine(redact(problem.message), 500);
  const assertions: Assertion[] =
    problem.outcome === 'fail' ? [{ expectation: 'completes the MCP handshake', passed: false, message, ...(problem.status ? { observed: `HTTP ${problem.status}` } : {}) }] : [];
  return {
    outcome: problem.outcome,
    message,
    assertions,
    measurements: { latency_ms: round(budget.elapsed()) },
    ...(session ? { details: { transport: session.transport } } : {}),
    ...(problem.errorKind ? { errorKind: problem.errorKind } : {}),
    ...(problem.status !== undefined ? { status: problem.status } : {}),
  };
}

function redactAssertion(a: Assertion, redact: (s: string) => string): Assertion {
  return {
    expectation: redact(a.expectation),
    passed: a.passed,
    ...(a.observed !== undefined ? { observed: redact(a.observed) } : {}),
    ...(a.message !== undefined ? { message: redact(a.message) } : {}),
  };
}

function formatLatency(m: Record<string, number>): string {
  const parts = [`connect ${formatDuration(m.connect_ms ?? 0)}`];
  if (m.rtt_ms !== undefined) parts.push(`round trip ${formatDuration(m.rtt_ms)}`);
  if (m.tool_call_ms !== undefined) parts.push(`tool call ${formatDuration(m.tool_call_ms)}`);
  return `${formatDuration(m.latency_ms ?? 0)} (${parts.join(', ')})`;
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
