/** One problem found while loading a policy: where (a key path like `rules.3.match`) and what. */
export interface PolicyIssue {
  readonly path: string;
  readonly message: string;
}

/** A policy that is present but invalid. Lists every problem, never only the first. */
export class PolicyLoadError extends Error {
  readonly origin: string;
  readonly issues: readonly PolicyIssue[];

  constructor(origin: string, issues: readonly PolicyIssue[]) {
    super(`invalid policy ${origin}: ${issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')}`);
    this.name = 'PolicyLoadError';
    this.origin = origin;
    this.issues = issues;
  }
}
