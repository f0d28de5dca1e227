import swagger, { type SwaggerTransform } from '@fastify/swagger';
import { ErrorBody } from '@parking-realtime/protocol';
import type { FastifyInstance } from 'fastify';

/**
 * The version the documents carry: the workspace packages' version. The HTTP
 * contract itself is docs/protocol.md; a change to it is a change to these documents.
 */
export const API_VERSION = '0.1.0';

/** How a caller proves who it is. A route names the one it takes in its schema's `security`. */
export const SECURITY_SCHEMES = {
  userJwt: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: "The main application's access token (SimpleJWT-style); the user id is in its `user_id` claim (JWT_USER_CLAIM), else `sub`",
  },
  serviceJwt: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'A service JWT (HS256, SERVICE_JWT_SECRET); its `scope` claim must contain the scope the route names',
  },
  wsToken: {
    type: 'apiKey',
    in: 'query',
    name: 'token',
    description: 'A single-use WebSocket token from `GET /api/user/ws-token/`',
  },
} as const;

export type SecuritySchemeName = keyof typeof SECURITY_SCHEMES;

export interface OpenApiInfo {
  /** The service's name, as in its logs and metrics. */
  service: string;
  description: string;
  /** The schemes its routes name in `security`. */
  securitySchemes: readonly SecuritySchemeName[];
}

/**
 * `schema` with what it means here, for the document (a response's
 * description). It validates and serializes exactly as `schema` does.
 */
export function described<T extends object>(schema: T, description: string): T & { description: string } {
  return { ...schema, description };
}

/** A response schema for an error status: the ErrorBody every error carries (installErrorHandler), with what the status means here. */
export function errorResponse(description: string) {
  return described(ErrorBody, description);
}

/**
 * Route config for a WebSocket route whose HTTP side (the upgrade, its
 * refusals) belongs in the document: @fastify/websocket marks its routes
 * hidden, and this shows it again.
 */
export const documentWebSocketRoute: { swaggerTransform: SwaggerTransform } = {
  swaggerTransform: ({ schema, url }) => ({ schema: { ...schema, hide: false }, url }),
};

/**
 * Generates the service's OpenAPI 3.1 document from its route schemas
 * (@fastify/swagger) and serves it at `GET /openapi.json`, on the service's
 * own port (nginx does not route it). Register it before any route: routes
 * registered earlier are not seen. docs/openapi/<service>.json holds each
 * document, and a test per service fails when the served one differs.
 */
export async function registerOpenApi(app: FastifyInstance, info: OpenApiInfo): Promise<void> {
  await app.register(swagger, {
    openapi: {
      // 3.1: its schemas are JSON Schema 2020-12, as TypeBox writes them (`const`, unions).
      openapi: '3.1.0',
      info: { title: `parking-realtime ${info.service}`, description: info.description, version: API_VERSION },
      components: {
        securitySchemes: Object.fromEntries(info.securitySchemes.map((name) => [name, SECURITY_SCHEMES[name]])),
      },
    },
    // 3.1 has `const`; keep the schemas as the protocol writes them.
    convertConstToEnum: false,
  });
  app.get('/openapi.json', { schema: { hide: true }, logLevel: 'warn' }, async () => app.swagger());
}
