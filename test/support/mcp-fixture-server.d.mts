/** Types for mcp-fixture-server.mjs (a plain-node script, so the stdio server needs no build step). */
import type { McpServer } from '@modelcontextprotocol/server';
import type { Server as LegacyServer } from '@modelcontextprotocol/sdk/server/index.js';

export interface FixtureContent {
  type: string;
  text?: string;
  [key: string]: unknown;
}

export interface FixtureTool {
  name: string;
  description?: string;
  /** JSON Schema of the arguments; default `{ type: 'object', properties: {} }`. */
  inputSchema?: Record<string, unknown>;
  /** What every call returns; `{{args}}` in text items becomes the JSON of the arguments. */
  result?: { content: FixtureContent[]; structuredContent?: unknown; isError?: boolean };
}

export interface McpFixture {
  name?: string;
  version?: string;
  title?: string;
  /** Omit a list to not advertise the capability at all. */
  tools?: FixtureTool[];
  resources?: { uri: string; name: string; text?: string; mimeType?: string }[];
  prompts?: { name: string; description?: string; text?: string }[];
}

export const defaultFixture: McpFixture;
export function createModernServer(fixture?: McpFixture): McpServer;
export function createLegacyServer(fixture?: McpFixture, options?: { protocolVersion?: string }): LegacyServer;
