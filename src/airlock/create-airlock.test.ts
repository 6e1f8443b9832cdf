import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/index.ts';
import { rejectedAirlockError } from '../../test/support/airlock-errors.ts';
import { openMemoryAirlock } from '../../test/support/memory-airlock.ts';

describe('createAirlock: configuration', () => {
  it('validates a plain object and names every bad key', async () => {
    const error = await rejectedAirlockError(
      openMemoryAirlock({ config: { sandbox: { memroy: '1g', pids: 'many' } } }),
    );
    expect(error.code).toBe('INVALID_CONFIG');
    expect(error.message).toMatch(/memroy/);
    expect(error.message).toMatch(/pids/);
  });

  it('validates a frozen look-alike too: only a configuration the config module parsed skips it', async () => {
    const lookAlike = Object.freeze({ sandbox: Object.freeze({ memory: 'lots' }) });
    const error = await rejectedAirlockError(openMemoryAirlock({ config: lookAlike }));
    expect(error.code).toBe('INVALID_CONFIG');
    expect(error.message).toMatch(/memory/);
  });

  it('uses a parsed airlock.yaml as it is', async () => {
    const config = parseConfig('router:\n  approvalRequiredFor: [touch]\n', 'airlock.yaml');
    const { airlock } = await openMemoryAirlock({ config });
    expect(airlock.config).toBe(config);
    const session = await airlock.sessions.create();
    const result = await session.run('touch made', { waitForApproval: false });
    expect(result.status).toBe('pending_approval');
  });
});

describe('createAirlock: sessions and close', () => {
  it("answers another session's command as unknown", async () => {
    const { airlock } = await openMemoryAirlock();
    const mine = await airlock.sessions.create();
    const theirs = await airlock.sessions.create();
    const result = await theirs.run('echo theirs');
    expect(result.status).toBe('completed');
    const error = await rejectedAirlockError(mine.commands.get(result.id));
    expect(error.code).toBe('NOT_FOUND');
    expect((await rejectedAirlockError(mine.commands.kill(result.id))).code).toBe('NOT_FOUND');
  });

  it('shows a file with the session secrets redacted, like any other output', async () => {
    const { airlock } = await openMemoryAirlock({ config: { router: { approvalRequiredFor: [] } } });
    const secret = 'sk-test-0123456789abcdef0123';
    const session = await airlock.sessions.create({ secretEnv: { API_KEY: secret } });
    await session.files.write('creds.txt', `key=${secret}\n`);
    const shown = (await session.files.read('creds.txt')).toString();
    expect(shown).not.toContain(secret);
    expect(shown).toMatch(/^key=\[REDACTED/);
  });

  it('ends every session on close, destroys their sandboxes, and closes once', async () => {
    const { airlock, driver } = await openMemoryAirlock();
    const session = await airlock.sessions.create();
    const running = session.run('sleep 30');
    await new Promise((resolve) => setTimeout(resolve, 50));
    await Promise.all([airlock.close(), airlock.close()]);
    expect((await running).status).toBe('killed');
    expect(driver.sandboxes).toHaveLength(1);
    expect(driver.sandboxes[0]?.runningCount).toBe(0);
    await expect(driver.sandboxes[0]?.exec('true')).rejects.toMatchObject({ code: 'SANDBOX_DESTROYED' });
  });
});
