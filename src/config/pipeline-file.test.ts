import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultConfig, parseConfig } from './load.ts';
import { applyPipelineFile, readPipelineFile } from './pipeline-file.ts';

const dir = mkdtempSync(join(tmpdir(), 'airlock-pipeline-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function pipeline(yaml: string) {
  const path = join(dir, `p${Math.random().toString(16).slice(2)}.yaml`);
  writeFileSync(path, yaml);
  return readPipelineFile(path, 'agent-pipeline.yaml');
}

/** The error reading or applying a pipeline file gives, or null when it is accepted. */
async function refusalOf(yaml: string): Promise<unknown> {
  try {
    applyPipelineFile(defaultConfig(), await pipeline(yaml));
    return null;
  } catch (error) {
    return error;
  }
}

describe("the design's pipeline file", () => {
  it("maps every section onto Airlock's configuration", async () => {
    const file = await pipeline(`
pipeline:
  inference:
    model: anthropic:claude-sonnet-4-5
    max_tokens: 2048
    system_prompt: Be brief.
  command_router:
    validator: readonly
    approval_required_for: ["git push", write_file]
  sandbox_executor:
    runtime: runsc
    timeout: 45s
    output_truncation: 8000
`);
    const applied = applyPipelineFile(defaultConfig(), file);
    expect(applied.policy).toBe('readonly');
    expect(applied.agent).toEqual({
      model: 'anthropic:claude-sonnet-4-5',
      maxTokens: 2048,
      systemPrompt: 'Be brief.',
    });
    expect(applied.config.sandbox).toMatchObject({ driver: 'gvisor', timeoutMs: 45_000 });
    expect(applied.config.router.approvalRequiredFor).toEqual(['git push', 'write_file']);
    expect(applied.config.router.output.maxChars).toBe(8000);
    // What the pipeline does not name stays as airlock.yaml has it.
    const base = parseConfig('sandbox:\n  memory: 1g\nrouter:\n  rateLimit: 5/min\n', 'airlock.yaml');
    const over = applyPipelineFile(base, await pipeline('pipeline:\n  sandbox_executor:\n    timeout: 10\n'));
    expect(over.config.sandbox).toMatchObject({ memoryBytes: 1024 ** 3, timeoutMs: 10_000, driver: 'bwrap' });
    expect(over.config.router.rateLimit).toEqual(base.router.rateLimit);
    expect(over.policy).toBeUndefined();
  });

  it('refuses what Airlock cannot honour, naming each key, never ignoring it', async () => {
    await expect(
      pipeline('pipeline:\n  inference:\n    model: m\n    temperature: 0.2\n  retriever: {}\n'),
    ).rejects.toMatchObject({
      code: 'INVALID_CONFIG',
      message: expect.stringMatching(
        /pipeline\.inference\.temperature: Airlock has nothing that honours this key[\s\S]*pipeline\.retriever/,
      ),
    });
    const cases: Array<[string, RegExp]> = [
      [
        'pipeline:\n  sandbox_executor:\n    runtime: firecracker\n',
        /runtime: "firecracker" is not a runtime Airlock has a driver for: use bwrap, gvisor \(runsc\) or docker/,
      ],
      [
        'pipeline:\n  command_router:\n    validator: regex\n',
        /validator: "regex" is not a validator Airlock has/,
      ],
      ['pipeline:\n  sandbox_executor:\n    timeout: soon\n', /sandbox\.timeout/],
      ['pipeline:\n  sandbox_executor:\n    output_truncation: lots\n', /router\.output\.maxChars/],
    ];
    expect(cases.length).toBeGreaterThan(0);
    for (const [yaml, message] of cases) {
      expect(await refusalOf(yaml), yaml).toMatchObject({
        code: 'INVALID_CONFIG',
        message: expect.stringMatching(message),
      });
    }
  });

  it('refuses a file that is not the pipeline shape at all', async () => {
    await expect(pipeline('sandbox:\n  driver: bwrap\n')).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
    await expect(pipeline('pipeline: [1, 2]\n')).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
    await expect(readPipelineFile(join(dir, 'missing.yaml'), 'missing.yaml')).rejects.toMatchObject({
      code: 'INVALID_CONFIG',
    });
  });
});
