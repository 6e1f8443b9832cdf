/**
 * Named limits. Each bounds the work one evaluation may do; passing one is a hazard (never allow) and
 * the policy still runs its deny rules over what it can see, so a long command cannot hide a deny.
 */

/** Longer commands are not parsed at all: only the cheap deny pass runs, then the decision is ask or deny. */
export const MAX_COMMAND_LENGTH = 16_384;

/** `sh -c` inside `sh -c` …: deeper scripts are not analysed and count as unseen code. */
export const MAX_NESTING_DEPTH = 6;

/** More simple commands than this (after unwrapping) are all still analysed, but the decision is not allow. */
export const MAX_SIMPLE_COMMANDS = 50;

/** A brace expression that expands to more words than this is treated as an unknown word. */
export const MAX_BRACE_WORDS = 64;

/** Wrappers stacked deeper than this (`nice nice nice …`) are treated as unseen code. */
export const MAX_WRAPPER_DEPTH = 16;

/** A `for` loop over more literal words than this is walked once with its variable unknown. */
export const MAX_LOOP_WORDS = 16;

/**
 * Walking loops once per word stops (and the loops are walked once with their variable unknown)
 * when it would leave more simple commands than this, well under MAX_SIMPLE_COMMANDS.
 */
export const MAX_UNROLLED_COMMANDS = 40;
