import { AirlockError } from '../errors/index.ts';

/** One problem found while loading a policy: where (a key path like `rules.3.match`) and what. */
export interface PolicyIssue {
  readonly path: string;
  readonly message: string;
}

/**
 * A policy that is present but invalid, with the stable code POLICY_INVALID. Lists every problem,
 * never only the first; `details` carries the origin and the issues for callers that branch on data.
 */
export class PolicyLoadError extends AirlockError {
  readonly origin: string;
  readonly issues: readonly PolicyIssue[];

  constructor(origin: string, issues: readonly PolicyIssue[]) {
    super(
      'POLICY_INVALID',
      `invalid policy ${origin}: ${issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')}`,
      { origin, issues },
    );
    this.name = 'PolicyLoadError';
    this.origin = origin;
    this.issues = issues;
  }
}
