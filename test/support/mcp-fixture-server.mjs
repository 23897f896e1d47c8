#!/usr/bin/env node
/**
 * MCP servers for tests, built with the official SDKs from one plain-data description (a "fixture"), so the same
 * tools, resources and prompts can be served by:
 *   - createModernServer(fixture): @modelcontextprotocol/server v2 (2026-07-28 revision, and 2025-era clients too);
 *   - createLegacyServer(fixture, { protocolVersion }): @modelcontextprotocol/sdk v1 (2025-era `initialize` only).
 *
 * Run with plain node it is a stdio MCP server (test/support/mcp-servers.ts builds the command line):
 *   MCP_FIXTURE          JSON fixture (default: defaultFixture)
 *   MCP_FIXTURE_SDK      "modern" (default) or "legacy"
 *   MCP_FIXTURE_VERSION  legacy only: answer `initialize` with this protocol version (an older server)
 *   MCP_FIXTURE_PIDFILE  append this process's pid to the file (to prove no child outlives a check)
 *   MCP_FIXTURE_MODE     "hang": never answer and ignore end of input; "crash": print to stderr and exit 3
 *
 * Fixture shape (all optional; a missing list means the capability is not advertised):
 *   { name, version, title,
 *     tools: [{ name, description, inputSchema (JSON Schema), result: { content, structuredContent, isError } }],
 *     resources: [{ uri, name, text, mimeType }],
 *     prompts: [{ name, description, text }] }
 * In a tool result, text items may contain {{args}}: replaced by the JSON of the call's arguments.
 */
import { appendFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { McpServer, fromJsonSchema } from '@modelcontextprotocol/server';
import { Server as LegacyServer } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  GetPromptRequestSchema,
  InitializeRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListToolsRequestSchema,
  ReadResourceRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';

export const defaultFixture = {
  name: 'fixture-server',
  version: '1.4.2',
  tools: [
    {
      name: 'status',
      description: 'Reports the service status',
      inputSchema: { type: 'object', properties: { verbose: { type: 'boolean' } } },
      result: { content: [{ type: 'text', text: 'status: ok' }], structuredContent: { status: 'ok', uptime: 42 } },
    },
    {
      name: 'echo',
      description: 'Echoes its arguments',
      inputSchema: { type: 'object', properties: { message: { type: 'string' } }, required: ['message'] },
      result: { content: [{ type: 'text', text: 'echo: {{args}}' }] },
    },
    {
      name: 'broken',
      description: 'Always reports a tool-level error',
      inputSchema: { type: 'object', properties: {} },
      result: { content: [{ type: 'text', text: 'database unreachable' }], isError: true },
    },
  ],
  resources: [{ uri: 'config://app', name: 'app-config', text: 'mode=test', mimeType: 'text/plain' }],
  prompts: [{ name: 'summarize', description: 'Summarize the status', text: 'Summarize the service status.' }],
};

function toolResult(tool, args) {
  const result = structuredClone(tool.result ?? { content: [{ type: 'text', text: 'ok' }] });
  for (const item of result.content ?? []) {
    if (item.type === 'text') item.text = item.text.replaceAll('{{args}}', JSON.stringify(args ?? {}));
  }
  return result;
}

function promptResult(prompt) {
  return { messages: [{ role: 'user', content: { type: 'text', text: prompt.text ?? prompt.name } }] };
}

/** A v2 McpServer serving the fixture. */
export function createModernServer(fixture = defaultFixture) {
  const server = new McpServer(
    { name: fixture.name ?? 'fixture-server', version: fixture.version ?? '0.0.0', ...(fixture.title ? { title: fixture.title } : {}) },
    { capabilities: { ...(fixture.tools ? { tools: {} } : {}), ...(fixture.resources ? { resources: {} } : {}), ...(fixture.prompts ? { prompts: {} } : {}) } },
  );
  for (const tool of fixture.tools ?? []) {
    server.registerTool(
      tool.name,
      { description: tool.description ?? tool.name, inputSchema: fromJsonSchema(tool.inputSchema ?? { type: 'object', properties: {} }) },
      async (args) => toolResult(tool, args),
    );
  }
  for (const resource of fixture.resources ?? []) {
    server.registerResource(resource.name, resource.uri, { mimeType: resource.mimeType ?? 'text/plain' }, async (uri) => ({
      contents: [{ uri: uri.href, text: resource.text ?? '' }],
    }));
  }
  for (const prompt of fixture.prompts ?? []) {
    server.registerPrompt(prompt.name, { description: prompt.description ?? prompt.name }, () => promptResult(prompt));
  }
  return server;
}

/**
 * A v1 (2025-era) low-level Server serving the fixture. `protocolVersion` makes it answer `initialize` with that
 * revision, as an older server would.
 */
export function createLegacyServer(fixture = defaultFixture, options = {}) {
  const capabilities = { ...(fixture.tools ? { tools: {} } : {}), ...(fixture.resources ? { resources: {} } : {}), ...(fixture.prompts ? { prompts: {} } : {}) };
  const server = new LegacyServer({ name: fixture.name ?? 'fixture-server', version: fixture.version ?? '0.0.0' }, { capabilities });
  if (options.protocolVersion) {
    // The SDK always answers with the newest revision it knows; an older server knows no newer one than this.
    const initialize = server._oninitialize.bind(server);
    server.setRequestHandler(InitializeRequestSchema, async (request) => ({ ...(await initialize(request)), protocolVersion: options.protocolVersion }));
  }
  if (fixture.tools) {
    server.setRequestHandler(ListToolsRequestSchema, async () => ({
      tools: fixture.tools.map((t) => ({ name: t.name, description: t.description ?? t.name, inputSchema: t.inputSchema ?? { type: 'object', properties: {} } })),
    }));
    server.setRequestHandler(CallToolRequestSchema, async (request) => {
      const tool = fixture.tools.find((t) => t.name === request.params.name);
      if (!tool) return { content: [{ type: 'text', text: `Unknown tool: ${request.params.name}` }], isError: true };
      return toolResult(tool, request.params.arguments);
    });
  }
  if (fixture.resources) {
    server.setRequestHandler(ListResourcesRequestSchema, async () => ({
      resources: fixture.resources.map((r) => ({ uri: r.uri, name: r.name, mimeType: r.mimeType ?? 'text/plain' })),
    }));
    server.setRequestHandler(ReadResourceRequestSchema, async (request) => {
      const resource = fixture.resources.find((r) => r.uri === request.params.uri);
      return { contents: resource ? [{ uri: resource.uri, text: resource.text ?? '' }] : [] };
    });
  }
  if (fixture.prompts) {
    server.setRequestHandler(ListPromptsRequestSchema, async () => ({ prompts: fixture.prompts.map((p) => ({ name: p.name, description: p.description })) }));
    server.setRequestHandler(GetPromptRequestSchema, async (request) => promptResult(fixture.prompts.find((p) => p.name === request.params.name) ?? { name: 'unknown' }));
  }
  return server;
}

async function main() {
  if (process.env.MCP_FIXTURE_PIDFILE) appendFileSync(process.env.MCP_FIXTURE_PIDFILE, `${process.pid}\n`);
  const mode = process.env.MCP_FIXTURE_MODE;
  if (mode === 'crash') {
    process.stderr.write('fixture: cannot open config file /etc/fixture.conf\n');
    process.exit(3);
  }
  if (mode === 'hang') {
    // A stuck server: reads nothing useful, answers nothing, and does not exit when its input ends.
    process.stdin.resume();
    process.stdin.on('end', () => undefined);
    setInterval(() => undefined, 1000);
    return;
  }
  const fixture = process.env.MCP_FIXTURE ? JSON.parse(process.env.MCP_FIXTURE) : defaultFixture;
  if (process.env.MCP_FIXTURE_SDK === 'legacy') {
    const { StdioServerTransport } = await import('@modelcontextprotocol/sdk/server/stdio.js');
    const server = createLegacyServer(fixture, { protocolVersion: process.env.MCP_FIXTURE_VERSION });
    await server.connect(new StdioServerTransport());
    process.stdin.on('end', () => process.exit(0));
  } else {
    const { serveStdio } = await import('@modelcontextprotocol/server/stdio');
    serveStdio(() => createModernServer(fixture));
    process.stdin.on('end', () => process.exit(0));
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((error) => {
    process.stderr.write(`fixture server failed: ${error?.stack ?? error}\n`);
    process.exit(1);
  });
}
