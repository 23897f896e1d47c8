import { describe, it, expect, afterAll } from '@jest/globals';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  McpServer,
  OAuthError,
  OAuthErrorCode,
  createMcpHandler,
  getOAuthProtectedResourceMetadataUrl,
  oauthMetadataResponse,
  requireBearerAuth,
  type AuthMetadataOptions,
} from '@modelcontextprotocol/server';
import { toWebRequest } from '@modelcontextprotocol/node';
import { AuthCheck } from '../../packages/config/schema.js';
import { runAuthCheck, resourceMetadataParam } from '../../packages/checks/kinds/auth.js';
import { closeHttpAgents } from '../../packages/checks/http-client.js';
import { systemClock, type AttemptContext } from '../../packages/checks/model.js';
import { closedPort, startHttpServer, type TestServer } from '../support/servers.js';

const TOKEN = 'tok_live_4b9e2c7d1a8f';

function context(): AttemptContext {
  return {
    signal: new AbortController().signal,
    timeouts: { connect: 1000, firstByte: 1000, total: 3000 },
    log: { debug: () => undefined, info: () => undefined, warning: () => undefined },
    clock: systemClock,
    baseDir: process.cwd(),
  };
}

function spec(input: Record<string, unknown>) {
  return AuthCheck.parse({ name: 'auth', type: 'auth', token: TOKEN, ...input });
}

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}) {
  res.writeHead(status, headers);
  res.end(body);
}

const servers: TestServer[] = [];
async function serve(handler: (req: IncomingMessage, res: ServerResponse, base: string) => void): Promise<TestServer> {
  let base = '';
  const server = await startHttpServer((req, res) => handler(req, res, base));
  base = server.url;
  servers.push(server);
  return server;
}

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await closeHttpAgents();
});

/** Drains the request body, then answers like a hand-written MCP endpoint guarded by a bearer token. */
function mcpStyle(options: { challenge: (base: string) => string; metadata?: (base: string) => unknown }) {
  return (req: IncomingMessage, res: ServerResponse, base: string) => {
    req.resume();
    req.on('end', () => {
      if (req.url === '/.well-known/oauth-protected-resource/mcp' && options.metadata) {
        return send(res, 200, JSON.stringify(options.metadata(base)), { 'content-type': 'application/json' });
      }
      if (req.headers.authorization !== `Bearer ${TOKEN}`) {
        return send(res, 401, '{"error":"invalid_token"}', { 'content-type': 'application/json', 'www-authenticate': options.challenge(base) });
      }
      send(res, 200, '{"jsonrpc":"2.0","id":1,"result":{}}', { 'content-type': 'application/json' });
    });
  };
}

describe('auth check: bearer endpoints', () => {
  it('passes a server that refuses no token and a wrong token and accepts the valid one', async () => {
    const server = await serve((req, res) => {
      if (!req.headers.authorization) return send(res, 401, 'missing token');
      if (req.headers.authorization !== `Bearer ${TOKEN}`) return send(res, 403, 'bad token');
      send(res, 200, '{"ok":true}');
    });
    const result = await runAuthCheck(spec({ url: `${server.url}/admin` }), context());
    expect(result.outcome).toBe('pass');
    expect(result.message).toBe('refused without credentials (401) and with a wrong token (403); accepted the valid token (200 OK)');
    expect(result.assertions.map((a) => a.expectation)).toEqual([
      'request without credentials is refused (401 or 403)',
      'request with a wrong token is refused (401 or 403)',
      'request with the valid token is accepted (2xx)',
    ]);
    expect(JSON.stringify(result)).not.toContain(TOKEN);
  });

  it('fails a server that accepts any token, naming the wrong-token request', async () => {
    const server = await serve((req, res) => (req.headers.authorization ? send(res, 200, 'welcome') : send(res, 401, 'who are you')));
    const result = await runAuthCheck(spec({ url: server.url }), context());
    expect(result.outcome).toBe('fail');
    expect(result.message).toBe('the request with a wrong token got 200 OK, expected a refusal (401 or 403); the server does not verify the token');
    expect(result.status).toBe(200);
    expect(JSON.stringify(result)).not.toContain(TOKEN);
  });

  it('fails an endpoint that is not protected at all', async () => {
    const server = await serve((_req, res) => send(res, 200, 'open'));
    const result = await runAuthCheck(spec({ url: server.url }), context());
    expect(result.outcome).toBe('fail');
    expect(result.message).toMatch(/^the request without credentials got 200 OK, expected a refusal \(401 or 403\); the endpoint answers without any credentials \(\+1 more\)$/);
  });

  it('fails when the valid token is refused, without showing the token', async () => {
    const server = await serve((_req, res) => send(res, 401, `rejected: ${TOKEN}`));
    const result = await runAuthCheck(spec({ url: server.url }), context());
    expect(result.outcome).toBe('fail');
    expect(result.message).toBe('the request with the valid token got 401 Unauthorized, expected 2xx; check the token and that the server expects it as `authorization: Bearer <token>`');
    expect(JSON.stringify(result)).not.toContain(TOKEN);
  });

  it('uses a custom header, no scheme and configured statuses', async () => {
    const server = await serve((req, res) => (req.headers['x-api-key'] === TOKEN ? send(res, 204, '') : send(res, 404, '')));
    const result = await runAuthCheck(spec({ url: server.url, header: 'X-Api-Key', scheme: '', rejectStatus: [404], acceptStatus: 204 }), context());
    expect(result.outcome).toBe('pass');
  });

  it('ends with a connect error when nothing listens', async () => {
    const port = await closedPort();
    const result = await runAuthCheck(spec({ url: `http://127.0.0.1:${port}/` }), context());
    expect(result).toMatchObject({ outcome: 'error', errorKind: 'connect' });
    expect(result.message).toMatch(/^request without credentials: .*connection refused/);
  });
});

describe('auth check: MCP discovery', () => {
  it('passes an MCP server built with the official SDK that guards its endpoint with a bearer token and serves its metadata', async () => {
    const server = await startOfficialProtectedMcpServer();
    const result = await runAuthCheck(spec({ url: `${server.url}/mcp`, mcp: true }), context());
    expect(result.assertions.filter((a) => !a.passed)).toEqual([]);
    expect(result.outcome).toBe('pass');
    expect(result.message).toMatch(new RegExp(`protected-resource metadata names ${server.url}/mcp`));
    expect(result.details).toMatchObject({ resourceMetadataUrl: `${server.url}/.well-known/oauth-protected-resource/mcp`, resource: `${server.url}/mcp` });
    expect(JSON.stringify(result)).not.toContain(TOKEN);
  });

  it('passes a hand-written MCP-style server with resource_metadata and a protected-resource metadata document', async () => {
    const server = await serve(
      mcpStyle({
        challenge: (base) => `Bearer error="invalid_token", resource_metadata="${base}/.well-known/oauth-protected-resource/mcp"`,
        metadata: (base) => ({ resource: `${base}/mcp`, authorization_servers: ['https://auth.example.com'] }),
      }),
    );
    const result = await runAuthCheck(spec({ url: `${server.url}/mcp`, mcp: true }), context());
    expect(result.outcome).toBe('pass');
    expect(result.assertions.map((a) => a.expectation)).toEqual([
      'request without credentials is refused (401 or 403)',
      'request with a wrong token is refused (401 or 403)',
      'request with the valid token is accepted (2xx)',
      '401 without credentials carries WWW-Authenticate with resource_metadata',
      'protected-resource metadata is served as JSON',
      `metadata resource names ${server.url}/mcp`,
      'metadata lists authorization_servers',
    ]);
    expect(JSON.stringify(result)).not.toContain(TOKEN);
  });

  it('fails when the 401 has no resource_metadata parameter', async () => {
    const server = await serve(mcpStyle({ challenge: () => 'Bearer realm="mcp"' }));
    const result = await runAuthCheck(spec({ url: `${server.url}/mcp`, mcp: true }), context());
    expect(result.outcome).toBe('fail');
    expect(result.message).toBe('WWW-Authenticate on the 401 has no resource_metadata parameter (got "Bearer realm=\\"mcp\\""); add resource_metadata="<protected-resource metadata URL>" (RFC 9728 §5.1)');
  });

  it('fails when the metadata names another resource', async () => {
    const server = await serve(
      mcpStyle({
        challenge: (base) => `Bearer resource_metadata="${base}/.well-known/oauth-protected-resource/mcp"`,
        metadata: () => ({ resource: 'https://other.example.com/mcp', authorization_servers: ['https://auth.example.com'] }),
      }),
    );
    const result = await runAuthCheck(spec({ url: `${server.url}/mcp`, mcp: true }), context());
    expect(result.outcome).toBe('fail');
    expect(result.message).toMatch(/names resource "https:\/\/other\.example\.com\/mcp", but the checked server is at http:\/\/127\.0\.0\.1:\d+ \(origins differ\)/);
  });

  it('fails when the metadata lists no authorization servers', async () => {
    const server = await serve(
      mcpStyle({
        challenge: (base) => `Bearer resource_metadata="${base}/.well-known/oauth-protected-resource/mcp"`,
        metadata: (base) => ({ resource: `${base}/mcp` }),
      }),
    );
    const result = await runAuthCheck(spec({ url: `${server.url}/mcp`, mcp: true }), context());
    expect(result.outcome).toBe('fail');
    expect(result.message).toMatch(/lists no authorization_servers/);
  });

  it('fails when the metadata document is not served', async () => {
    const server = await serve(mcpStyle({ challenge: (base) => `Bearer resource_metadata="${base}/.well-known/oauth-protected-resource/mcp"` }));
    const result = await runAuthCheck(spec({ url: `${server.url}/mcp`, mcp: true }), context());
    expect(result.outcome).toBe('fail');
    expect(result.message).toMatch(/protected-resource metadata at .* answered 401 Unauthorized, expected 200/);
  });

  it('reads resource_metadata in quoted and token form among other parameters', () => {
    expect(resourceMetadataParam('Bearer realm="x", resource_metadata="https://a.example/.well-known/oauth-protected-resource"')).toBe(
      'https://a.example/.well-known/oauth-protected-resource',
    );
    expect(resourceMetadataParam('Bearer resource_metadata=https://a.example/prm, scope="mcp"')).toBe('https://a.example/prm');
    expect(resourceMetadataParam('Bearer realm="x"')).toBeUndefined();
  });
});

/** A Streamable HTTP MCP server from the official SDK, behind the SDK's own bearer gate and metadata route. */
async function startOfficialProtectedMcpServer(): Promise<TestServer> {
  const handler = createMcpHandler(() => new McpServer({ name: 'protected-test-server', version: '1.0.0' }));
  // The server's URL is known only once it listens; requests arrive after both consts below are set.
  const server = await startHttpServer((req, res) => {
    void (async () => {
      const request = await toWebRequest(req);
      let response = oauthMetadataResponse(request, metadataOptions);
      if (!response) {
        const auth = await gate(request);
        response = auth instanceof Response ? auth : await handler.fetch(request, { authInfo: auth });
      }
      res.writeHead(response.status, Object.fromEntries(response.headers));
      res.end(Buffer.from(await response.arrayBuffer()));
    })().catch((error: unknown) => send(res, 500, String(error)));
  });
  const mcpUrl = new URL(`${server.url}/mcp`);
  const metadataOptions: AuthMetadataOptions = {
    oauthMetadata: {
      issuer: `${server.url}/`,
      authorization_endpoint: `${server.url}/authorize`,
      token_endpoint: `${server.url}/token`,
      response_types_supported: ['code'],
    },
    resourceServerUrl: mcpUrl,
    dangerouslyAllowInsecureIssuerUrl: true,
  };
  const gate = requireBearerAuth({
    verifier: {
      verifyAccessToken: async (token) => {
        if (token !== TOKEN) throw new OAuthError(OAuthErrorCode.InvalidToken, 'unknown token');
        return { token, clientId: 'rollgate-test', scopes: [], expiresAt: Math.floor(Date.now() / 1000) + 3600 };
      },
    },
    resourceMetadataUrl: getOAuthProtectedResourceMetadataUrl(mcpUrl),
  });
  const wrapped: TestServer = {
    ...server,
    close: async () => {
      await handler.close();
      await server.close();
    },
  };
  servers.push(wrapped);
  return wrapped;
}
