/** Variables a command may receive as a prefix without changing how programs load or run code. */
const SAFE_ASSIGNMENTS = new Set([
  'CI',
  'NODE_ENV',
  'FORCE_COLOR',
  'NO_COLOR',
  'TERM',
  'COLUMNS',
  'LINES',
  'TZ',
  'LANG',
  'LANGUAGE',
  'RUST_BACKTRACE',
  'RUST_LOG',
  'PYTHONUNBUFFERED',
  'PYTHONDONTWRITEBYTECODE',
  'PYTHONHASHSEED',
  'DEBUG',
  'VERBOSE',
  'GOOS',
  'GOARCH',
  'CGO_ENABLED',
  'TF_CPP_MIN_LOG_LEVEL',
]);

/** Lower-case names that programs still read as configuration. */
const LOWERCASE_CONFIG = /^(https?|ftp|all|no)_proxy$/i;

/**
 * The assignment allowlist: a few well-known variables that only change output or build targets,
 * and lower-case names (shell-local by convention, not program configuration).
 */
export function isSafeAssignmentName(name: string): boolean {
  if (SAFE_ASSIGNMENTS.has(name) || /^LC_[A-Z]+$/.test(name)) return true;
  return /^[a-z_][a-z0-9_]*$/.test(name) && !LOWERCASE_CONFIG.test(name);
}
