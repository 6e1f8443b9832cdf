/**
 * The OpenAPI 3.1 description, generated from the same route table and zod schemas the server parses
 * requests with, so the document cannot drift from what the server accepts.
 */
import { z } from 'zod';
import type { RouteSpec } from './route.ts';
import { errorResponse } from './schemas.ts';

type JsonSchema = Record<string, unknown>;

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

/** `/v1/sessions/:id` → `/v1/sessions/{id}` */
function openApiPath(url: string): string {
  // `::` is a literal colon (`commands::check` serves `commands:check`); `:name` is a parameter.
  return url.replace(/::|:([A-Za-z]+)/g, (_match, name: string | undefined) =>
    name === undefined ? ':' : `{${name}}`,
  );
}

function parametersOf(route: RouteSpec): JsonSchema[] {
  const parameters: JsonSchema[] = [];
  for (const [where, schema] of [
    ['path', route.params],
    ['query', route.query],
  ] as const) {
    if (schema === undefined) continue;
    const object = jsonSchema(schema, 'input');
    const properties = (object['properties'] ?? {}) as Record<string, JsonSchema>;
    const required = new Set((object['required'] ?? []) as string[]);
    for (const [name, property] of Object.entries(properties)) {
      parameters.push({
        name,
        in: where,
        required: where === 'path' || required.has(name),
        schema: property,
      });
    }
  }
  return parameters;
}

/**
 * `extraPaths`: operations served outside the route table (the terminal WebSocket), described by hand
 * next to their handler.
 */
export function buildOpenApi(
  routes: readonly RouteSpec[],
  version: string,
  extraPaths: Readonly<Record<string, Record<string, JsonSchema>>> = {},
): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = { ...extraPaths };
  const error = {
    description: 'An error: `{ error: { code, message } }`',
    content: { 'application/json': { schema: jsonSchema(errorResponse, 'output') } },
  };
  for (const route of routes) {
    const operation: JsonSchema = {
      summary: route.summary,
      tags: [route.tag],
      ...(route.access === 'none' ? { security: [] } : {}),
      parameters: parametersOf(route),
      responses: {
        [String(route.response.status)]: {
          description: route.response.description,
          content:
            route.response.schema === undefined
              ? { [route.response.contentType ?? 'application/octet-stream']: {} }
              : { 'application/json': { schema: jsonSchema(route.response.schema, 'output') } },
        },
        '4XX': error,
      },
    };
    if (route.body !== undefined) {
      operation['requestBody'] = {
        required: true,
        content:
          route.body === 'octet-stream' || route.body === 'stream'
            ? { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } }
            : { 'application/json': { schema: jsonSchema(route.body, 'input') } },
      };
    }
    const path = openApiPath(route.url);
    paths[path] = { ...paths[path], [route.method.toLowerCase()]: operation };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Airlock HTTP API',
      version,
      description:
        'Run AI-agent shell commands behind policy, human approval, rate limits and an isolated sandbox. ' +
        'The admin token can do everything; a session token reaches only its own session.',
    },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    security: [{ bearer: [] }],
    paths,
  };
}
