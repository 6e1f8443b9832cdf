import type { Command } from 'commander';
import { buildBaseImage } from '../sandbox/index.ts';
import type { CliContext } from './context.ts';

interface BuildFlags {
  force?: boolean;
  mirror?: string;
  quiet?: boolean;
}

/** `airlock image build`: the Docker driver's base image, made locally (no registry needed). */
export function registerImageCommand(program: Command, context: CliContext): void {
  const image = program.command('image').description("Manage the Docker driver's local base image.");
  image
    .command('build')
    .description(
      'Build the base image (a minimal Debian root made by debootstrap, imported into the local Docker daemon). ' +
        'Reused when it already exists; prints its tag.',
    )
    .option('--force', 'rebuild even if the image exists')
    .option(
      '--mirror <url>',
      "Debian mirror for debootstrap (default: this machine's apt source for the suite)",
    )
    .option('-q, --quiet', 'print only the tag')
    .addHelpText(
      'after',
      '\nExit status: 0 built or reused; 125 when Docker, debootstrap or the mirror is unavailable.\n',
    )
    .action(async (flags: BuildFlags) => {
      const result = await buildBaseImage({
        force: flags.force ?? false,
        ...(flags.mirror === undefined ? {} : { mirror: flags.mirror }),
        ...(flags.quiet ? {} : { onProgress: (line: string) => void context.stderr.write(`${line}\n`) }),
      });
      if (!flags.quiet) {
        context.stderr.write(
          `${result.built ? 'built' : 'reused'} ${result.tag} (${Math.round(result.durationMs)} ms)\n`,
        );
      }
      context.stdout.write(`${result.tag}\n`);
    });
}
