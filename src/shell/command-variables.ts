/** Variables whose value other programs run as a command line (pagers, editors, browsers). */
const COMMAND_VARIABLES = /^(PAGER|[A-Z]+_PAGER|EDITOR|VISUAL|[A-Z]+_EDITOR|BROWSER|GIT_SEQUENCE_EDITOR)$/;

/**
 * `PAGER='sh -c …'`, `VISUAL=…`: execution hidden behind another tool. A plain program name is fine;
 * returns what is wrong otherwise (`null` text: a value only known at run time), or `null` when fine.
 */
export function commandVariableProblem(name: string, value: string | null): string | null {
  if (!COMMAND_VARIABLES.test(name)) return null;
  if (value !== null && /^[\w./+-]*$/.test(value)) return null;
  const what =
    value === null ? 'a value only known at run time' : `the command line ${JSON.stringify(value)}`;
  return `${name} is set to ${what}, which another program runs`;
}
