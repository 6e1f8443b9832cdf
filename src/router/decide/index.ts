/** The decide stage: the session's policy (with `router.approvalRequiredFor`), loosened only by a person's grants. */
export { decide, needsPerson, offeredGrants, rememberable } from './decide.ts';
export type { DecideInput, SessionGrants, Verdict } from './decide.ts';
