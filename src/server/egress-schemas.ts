/** The HTTP shapes of egress for people: each live session's connections, refused hosts and grants. */
import { z } from 'zod';
import { REFUSAL_CODES } from '../egress/index.ts';
import { count, id, queryInt, timestamp } from './schema-parts.ts';

export const egressOverview = z.object({
  sessionId: id,
  mode: z.enum(['none', 'allowlist', 'ask']),
  allow: z.array(z.string()).describe("The session's allow-list as it is now."),
  openConnections: count.describe('Connections open through the proxy now.'),
  connections: z
    .object({ allowed: count, refused: count })
    .describe('Connections reported since the proxy started (a plain-HTTP proxy request counts one each).'),
  bytesUp: count,
  bytesDown: count,
  lastConnectionAt: timestamp.nullable(),
  granted: z
    .array(z.string())
    .describe(
      '`host:port` a person allowed for the rest of the session (an approval with remember, or a grant).',
    ),
  pendingAsks: z.array(z.string()).describe('`host:port` waiting for a person now (see GET /v1/approvals).'),
  refused: z
    .array(
      z.object({
        host: z.string(),
        port: z.number().int(),
        reason: z.enum(REFUSAL_CODES),
        message: z.string(),
        count,
      }),
    )
    .describe('Distinct hosts refused in the session (at most 100), each with the line its client was told.'),
});

export const egressList = z.object({ sessions: z.array(egressOverview) });

export const egressQuery = z.object({ sessionId: id.optional() }).strict();

const grantHost = z
  .string()
  .min(1)
  .max(255)
  .describe('A host name or an IP address (IPv6 with or without brackets).');

export const egressGrantBody = z
  .object({ host: grantHost, port: z.number().int().min(1).max(65_535) })
  .strict();

export const egressGrantQuery = z.object({ host: grantHost, port: queryInt(1, 65_535) }).strict();
