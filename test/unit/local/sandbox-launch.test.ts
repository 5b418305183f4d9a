import { sandboxRequested } from '../../../lib/local/sandbox-launch';

describe('sandboxRequested', () => {
  it('is on with --sandbox, or with SLIPWAY_SANDBOX=1 or true', () => {
    expect(sandboxRequested(true, {})).toBe(true);
    expect(sandboxRequested(undefined, { SLIPWAY_SANDBOX: '1' })).toBe(true);
    expect(sandboxRequested(undefined, { SLIPWAY_SANDBOX: 'true' })).toBe(true);
  });

  it('is off otherwise, whatever else SLIPWAY_SANDBOX says', () => {
    expect(sandboxRequested(undefined, {})).toBe(false);
    expect(sandboxRequested(undefined, { SLIPWAY_SANDBOX: '0' })).toBe(false);
    expect(sandboxRequested(undefined, { SLIPWAY_SANDBOX: '' })).toBe(false);
  });
});
