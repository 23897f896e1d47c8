/**
 * The MCP face of the example service, built with the official SDK (v2): a `get_status` tool that goes through the
 * guarded dependency, a `status://current` resource and a `diagnose_status` prompt. One factory serves both protocol
 * eras: 2026-07-28 clients (server/discover) and 2025-era clients (initialize) through the stateless legacy path.
 */
import { McpServer, createMcpHandler, type McpHttpHandler } from '@modelcontextprotocol/server';
import { z } from 'zod';
import type { DependencyOutcome } from './dependency.js';

export interface McpSurface {
  serviceName: string;
  version: string;
  callDependency(): Promise<DependencyOutcome>;
  /** The same document `GET /api/v1/status` answers. */
  statusDocument(): Record<string, unknown>;
}

export const STATUS_RESOURCE_URI = 'status://current';

export function createStatusMcpHandler(surface: McpSurface, onerror?: (error: Error) => void): McpHttpHandler {
  return createMcpHandler(() => buildServer(surface), onerror ? { onerror } : {});
}

function buildServer(surface: McpSurface): McpServer {
  const server = new McpServer({ name: surface.serviceName, version: surface.version });

  server.registerTool(
    'get_status',
    {
      title: 'Service status',
      description: 'Reports whether the service and its dependency answer, and the running version.',
      inputSchema: z.object({
        verbose: z.boolean().optional().describe('Include dependency latency, breaker state and uptime'),
      }),
    },
    async ({ verbose }) => {
      const outcome = await surface.callDependency();
      if (!outcome.ok) {
        const why = outcome.reason === 'breaker-open' ? 'the circuit breaker is open' : 'the dependency did not answer in time';
        return {
          isError: true,
          content: [{ type: 'text', text: `dependency unavailable: ${why} (breaker ${outcome.breaker})` }],
          structuredContent: { status: 'degraded', version: surface.version, breaker: outcome.breaker },
        };
      }
      const structured: Record<string, unknown> = { status: 'ok', version: surface.version };
      if (verbose) {
        const doc = surface.statusDocument();
        Object.assign(structured, {
          dependency_latency_ms: Math.round(outcome.latencyMs * 10) / 10,
          breaker: outcome.breaker,
          uptime_s: doc.uptime_s,
        });
      }
      return {
        content: [{ type: 'text', text: `${surface.serviceName} ${surface.version} is ok` }],
        structuredContent: structured,
      };
    },
  );

  server.registerResource(
    'current-status',
    STATUS_RESOURCE_URI,
    { title: 'Current status', description: 'The status document of the service', mimeType: 'application/json' },
    async (uri) => ({
      contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(surface.statusDocument()) }],
    }),
  );

  server.registerPrompt(
    'diagnose_status',
    { title: 'Diagnose the service', description: 'Asks the model to explain the current status document' },
    () => ({
      messages: [
        {
          role: 'user',
          content: {
            type: 'text',
            text:
              `Here is the current status of ${surface.serviceName} ${surface.version}:\n\n` +
              `${JSON.stringify(surface.statusDocument(), null, 2)}\n\n` +
              'Say whether it is healthy, and if not, which part (dependency, circuit breaker, error rate) to look at first.',
          },
        },
      ],
    }),
  );

  return server;
}
