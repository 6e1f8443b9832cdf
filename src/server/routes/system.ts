import type { Airlock } from '../../airlock/index.ts';
import { defineRoute } from '../route.ts';
import type { RouteSpec } from '../route.ts';
import { health } from '../schemas.ts';

export interface SystemRouteParts {
  readonly airlock: Airlock;
  readonly version: string;
  readonly openApi: () => unknown;
}

export function systemRoutes({ airlock, version, openApi }: SystemRouteParts): RouteSpec[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/healthz',
      summary: 'Liveness: the server answers and its store can be read',
      tag: 'system',
      access: 'none',
      response: { status: 200, description: 'Healthy', schema: health },
      handler: async () => ({
        status: 'ok' as const,
        sessions: (await airlock.sessions.list({ state: 'active' })).length,
        version,
      }),
    }),
    defineRoute({
      method: 'GET',
      url: '/metrics',
      summary: 'Prometheus metrics',
      tag: 'system',
      // Session counts, command rates and alert labels describe every tenant's work.
      access: 'admin',
      response: { status: 200, description: 'Prometheus text format', contentType: 'text/plain' },
      handler: async ({ reply }) => {
        await reply
          .code(200)
          .type(airlock.metrics.contentType)
          .send(await airlock.metrics.render());
        return undefined;
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/openapi.json',
      summary: 'This API, described as OpenAPI 3.1',
      tag: 'system',
      access: 'none',
      response: { status: 200, description: 'The OpenAPI document', contentType: 'application/json' },
      handler: async ({ reply }) => {
        await reply.code(200).type('application/json; charset=utf-8').send(openApi());
        return undefined;
      },
    }),
  ];
}
