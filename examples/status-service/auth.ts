/**
 * Static bearer-token protection for the example service, on the official SDK's bearer helpers so the 401 answers
 * look exactly like a real MCP server's: `WWW-Authenticate: Bearer error="invalid_token", ..., resource_metadata="..."`.
 * The service issues no tokens; it accepts one configured token.
 */
import { timingSafeEqual } from 'node:crypto';
import {
  OAuthError,
  OAuthErrorCode,
  bearerAuthChallengeResponse,
  verifyBearerToken,
  type AuthInfo,
  type OAuthTokenVerifier,
} from '@modelcontextprotocol/server';

export const PRM_PREFIX = '/.well-known/oauth-protected-resource';

export type AuthDecision = { ok: true; info: AuthInfo } | { ok: false; status: number; headers: Record<string, string>; body: string };

export class StaticBearer {
  private readonly verifier: OAuthTokenVerifier;

  constructor(token: string) {
    const expected = Buffer.from(token);
    this.verifier = {
      async verifyAccessToken(presented: string): Promise<AuthInfo> {
        const given = Buffer.from(presented);
        if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
          throw new OAuthError(OAuthErrorCode.InvalidToken, 'The access token is not accepted');
        }
        // The SDK refuses tokens without an expiry; a static token is valid for the life of the process.
        return { token: presented, clientId: 'static-token', scopes: [], expiresAt: Math.floor(Date.now() / 1000) + 3600 };
      },
    };
  }

  /** Checks an Authorization header; a refusal carries the SDK's challenge (with resource_metadata when given). */
  async check(authorization: string | undefined, resourceMetadataUrl?: string): Promise<AuthDecision> {
    const options = { verifier: this.verifier, ...(resourceMetadataUrl ? { resourceMetadataUrl } : {}) };
    try {
      return { ok: true, info: await verifyBearerToken(authorization, options) };
    } catch (error) {
      const answer = bearerAuthChallengeResponse(error, resourceMetadataUrl ? { resourceMetadataUrl } : {});
      const headers: Record<string, string> = {};
      answer.headers.forEach((value, name) => {
        headers[name] = value;
      });
      return { ok: false, status: answer.status, headers, body: await answer.text() };
    }
  }
}

/** The RFC 9728 protected-resource metadata document for the MCP endpoint. */
export function protectedResourceMetadata(resource: string, authorizationServers: string[], resourceName: string): Record<string, unknown> {
  return {
    resource,
    authorization_servers: authorizationServers,
    bearer_methods_supported: ['header'],
    resource_name: resourceName,
  };
}
