/**
 * The SDK declares the wire types itself (it imports nothing from the server), so nothing but this
 * file keeps the two sides in step: the error codes are compared at run time, the response types by
 * the type checker (`tsc --noEmit` fails on a mismatch; vitest runs the calls as no-ops).
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { z } from 'zod';
import { errorCodes } from '../../src/errors/index.ts';
import { serverErrorCodes } from '../../src/sdk/index.ts';
import type {
  AccessTokenInfo,
  ApprovalContext,
  ApprovalRecord,
  AuditEvent,
  CommandPage,
  CreatedAccessToken,
  SessionEgress,
  SessionUsage,
  SignedIn,
  CreateSessionRequest,
  FileWriteResult,
  HealthStatus,
  OutputPage,
  RunResult,
  SessionInfo,
  VerifyResult,
} from '../../src/sdk/index.ts';
import type {
  approvalRecord,
  createSessionBody,
  fileWriteResult,
  health,
  outputPage,
  runResult,
  sessionInfo,
} from '../../src/server/schemas.ts';
import { auditEvent, verifyResult } from '../../src/server/audit-schemas.ts';
import type { egressOverview } from '../../src/server/egress-schemas.ts';
import type {
  accessTokenInfo,
  approvalContext,
  commandList,
  createAccessTokenBody,
  createdAccessToken,
  signedIn,
  usageList,
} from '../../src/server/watch-schemas.ts';
import type { CreateTokenOptions } from '../../src/sdk/index.ts';

/** A property zod declares `key?: T | undefined`, as the SDK writes it: `key?: T` (JSON has no undefined). */
type OptionalKeys<T> = { [K in keyof T]-?: object extends Pick<T, K> ? K : never }[keyof T];

/**
 * A schema's output as the SDK declares responses: read-only all the way down (arrays included),
 * optional properties without `| undefined`. Unions stay unions (the conditional distributes).
 */
type Wire<T> = T extends readonly (infer Item)[]
  ? readonly Wire<Item>[]
  : T extends object
    ? Flatten<
        { readonly [K in Exclude<keyof T, OptionalKeys<T>>]: Wire<T[K]> } & {
          readonly [K in OptionalKeys<T>]?: Wire<Exclude<T[K], undefined>>;
        }
      >
    : T;
type Flatten<T> = { [K in keyof T]: T[K] };

/** What the server sends for `schema`, in the SDK's terms. */
type Sent<Schema extends z.ZodType> = Wire<z.output<Schema>>;

describe('the SDK and the server agree on the wire', () => {
  it("knows exactly the server's error codes, no more and no fewer", () => {
    const server = Object.keys(errorCodes).sort();
    expect(server.length).toBeGreaterThan(0);
    expect([...serverErrorCodes].sort()).toEqual(server);
  });

  it('declares every response as the server schema produces it, field for field', () => {
    // Each pair both ways: what the server sends fits the SDK type, and the SDK promises nothing more.
    expectTypeOf<Sent<typeof sessionInfo>>().toExtend<SessionInfo>();
    expectTypeOf<SessionInfo>().toExtend<Sent<typeof sessionInfo>>();

    expectTypeOf<Sent<typeof runResult>>().toExtend<RunResult>();
    expectTypeOf<RunResult>().toExtend<Sent<typeof runResult>>();

    expectTypeOf<Sent<typeof outputPage>>().toExtend<OutputPage>();
    expectTypeOf<OutputPage>().toExtend<Sent<typeof outputPage>>();

    expectTypeOf<Sent<typeof fileWriteResult>>().toExtend<FileWriteResult>();
    expectTypeOf<FileWriteResult>().toExtend<Sent<typeof fileWriteResult>>();

    expectTypeOf<Sent<typeof approvalRecord>>().toExtend<ApprovalRecord>();
    expectTypeOf<ApprovalRecord>().toExtend<Sent<typeof approvalRecord>>();

    expectTypeOf<Sent<typeof verifyResult>>().toExtend<VerifyResult>();
    expectTypeOf<VerifyResult>().toExtend<Sent<typeof verifyResult>>();

    expectTypeOf<Sent<typeof health>>().toExtend<HealthStatus>();
    expectTypeOf<HealthStatus>().toExtend<Sent<typeof health>>();

    // `type` is widened on purpose: an event type a newer server adds still reaches the caller.
    expectTypeOf<Sent<typeof auditEvent>>().toExtend<AuditEvent>();
    expectTypeOf<Omit<AuditEvent, 'type'>>().toExtend<Omit<Sent<typeof auditEvent>, 'type'>>();
    expectTypeOf<AuditEvent['type']>().toEqualTypeOf<string>();
  });

  it("declares the people-facing routes' answers as the server schema produces them", () => {
    expectTypeOf<Sent<typeof signedIn>>().toExtend<SignedIn>();
    expectTypeOf<SignedIn>().toExtend<Sent<typeof signedIn>>();

    expectTypeOf<Sent<typeof accessTokenInfo>>().toExtend<AccessTokenInfo>();
    expectTypeOf<AccessTokenInfo>().toExtend<Sent<typeof accessTokenInfo>>();
    expectTypeOf<Sent<typeof createdAccessToken>>().toExtend<CreatedAccessToken>();
    expectTypeOf<CreatedAccessToken>().toExtend<Sent<typeof createdAccessToken>>();

    expectTypeOf<Sent<typeof commandList>>().toExtend<CommandPage>();
    expectTypeOf<CommandPage>().toExtend<Sent<typeof commandList>>();

    expectTypeOf<Sent<typeof usageList>['sessions'][number]>().toExtend<SessionUsage>();
    expectTypeOf<SessionUsage>().toExtend<Sent<typeof usageList>['sessions'][number]>();

    expectTypeOf<Sent<typeof egressOverview>>().toExtend<SessionEgress>();
    expectTypeOf<SessionEgress>().toExtend<Sent<typeof egressOverview>>();

    expectTypeOf<Sent<typeof approvalContext>>().toExtend<ApprovalContext>();
    expectTypeOf<ApprovalContext>().toExtend<Sent<typeof approvalContext>>();

    expectTypeOf<Pick<CreateTokenOptions, 'role' | 'name' | 'ttlMs'>>().toExtend<
      Sent<typeof createAccessTokenBody>
    >();
  });

  it('sends only session settings the server accepts', () => {
    // Requests go the other way: everything the SDK can send must parse on the server.
    expectTypeOf<CreateSessionRequest>().toExtend<Sent<typeof createSessionBody>>();
    expectTypeOf<CreateSessionRequest['driver']>().toEqualTypeOf<
      z.input<typeof createSessionBody>['driver']
    >();
  });
});
