/** Where Airlock's sandboxes start commands: absolute paths below it are the workspace. */
export const SANDBOX_WORKSPACE = '/workspace';
