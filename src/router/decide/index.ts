/** The decide stage: policy, tightened by `router.approvalRequiredFor`, loosened only by remembered approvals. */
export { createApprovalGate } from './approval-gate.ts';
export type { ApprovalGate } from './approval-gate.ts';
export { decide, rememberable } from './decide.ts';
export type { DecideInput, Verdict } from './decide.ts';
export { createCapabilitiesFor } from './capabilities.ts';
export type { CapabilitiesFor } from './capabilities.ts';
