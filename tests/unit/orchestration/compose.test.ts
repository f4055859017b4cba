/** The composition function's settings: what each host may reach by default (CONTRACT §5), and bad values named. */
import { describe, expect, it } from 'vitest';
import { decideAddress } from '../../../shared/net/ssrf.js';
import { orchestratorSettings } from '../../../shared/orchestration/compose.js';
import { memoryOrchestrator } from '../../support/memory-orchestrator.js';

describe('orchestratorSettings', () => {
  it('lets a local host reach loopback but not private ranges by default', () => {
    const local = orchestratorSettings({}, { allowLoopback: true });
    expect(local).toMatchObject({ allowLoopback: true, allowPrivateNetwork: false });
    const cloud = orchestratorSettings({}, { allowLoopback: false });
    expect(cloud).toMatchObject({ allowLoopback: false, allowPrivateNetwork: false });
  });

  it('opens both with FLOWRUNNER_ALLOW_PRIVATE_NETWORK=true and closes both with false', () => {
    expect(
      orchestratorSettings({ FLOWRUNNER_ALLOW_PRIVATE_NETWORK: 'true' }, { allowLoopback: false }),
    ).toMatchObject({
      allowLoopback: true,
      allowPrivateNetwork: true,
    });
    expect(
      orchestratorSettings({ FLOWRUNNER_ALLOW_PRIVATE_NETWORK: 'false' }, { allowLoopback: true }),
    ).toMatchObject({
      allowLoopback: false,
      allowPrivateNetwork: false,
    });
  });

  it('names a bad setting', () => {
    expect(() =>
      orchestratorSettings({ FLOWRUNNER_ALLOW_PRIVATE_NETWORK: 'yes' }, { allowLoopback: true }),
    ).toThrow(/FLOWRUNNER_ALLOW_PRIVATE_NETWORK/);
    expect(() => orchestratorSettings({ MOCK_AI_MODE: 'bogus' }, { allowLoopback: true })).toThrow(
      /MOCK_AI_MODE/,
    );
  });
});

describe('decideAddress with loopback access', () => {
  it('allows loopback, and refuses private, link-local and metadata addresses', () => {
    expect(decideAddress('127.0.0.1', 'loopback').allowed).toBe(true);
    expect(decideAddress('::1', 'loopback').allowed).toBe(true);
    for (const address of ['10.0.0.1', '192.168.1.1', '169.254.1.1', '169.254.169.254', 'fd00::1']) {
      expect(decideAddress(address, 'loopback').allowed).toBe(false);
    }
    expect(decideAddress('127.0.0.1', 'public').allowed).toBe(false);
  });
});

describe('composeOrchestrator', () => {
  it('builds one object with one clock: the steps see the orchestrator’s own', () => {
    const { deps, clock } = memoryOrchestrator();
    expect(deps.clock).toBe(clock);
    expect(Object.keys(deps)).not.toContain('steps');
    expect(Object.keys(deps)).not.toContain('executor');
  });
});
