/**
 * Airlock's tools, in the order a client lists them: the one catalogue every surface registers, so a
 * model sees the same tools wherever it reaches Airlock from.
 */
import { registerCheckCommand } from './check-tool.ts';
import { registerCommandTools } from './command-tools.ts';
import { registerFileTools } from './file-tools.ts';
import { registerInfoTool } from './info-tool.ts';
import type { ToolRegistrar } from './registrar.ts';
import type { ToolContext } from './tool-context.ts';

export function registerAirlockTools(registrar: ToolRegistrar, context: ToolContext): void {
  registerCommandTools(registrar, context);
  registerCheckCommand(registrar, context);
  registerFileTools(registrar, context);
  registerInfoTool(registrar, context);
}
