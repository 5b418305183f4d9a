import { otherServicesLine, sandboxRequested } from '../../../lib/local/sandbox-launch';

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

describe('otherServicesLine', () => {
  it('says the services neither simulated nor local go to AWS, and what for, when nothing names an endpoint', () => {
    expect(otherServicesLine({ AWS_ENDPOINT_URL_ECS: 'http://127.0.0.1:4566' })).toBe(
      '  Other services  Secrets Manager (API tokens until one is minted here): AWS (usual credential chain); SNS, SQS: none (no topic or queue under npm start)',
    );
  });

  it('names the endpoint each goes to instead', () => {
    expect(otherServicesLine({ AWS_ENDPOINT_URL: 'http://127.0.0.1:4566' })).toBe(
      '  Other services  Secrets Manager (API tokens until one is minted here): http://127.0.0.1:4566; SNS, SQS: none (no topic or queue under npm start)',
    );
  });

  it('leaves Lambda to the Lambda line: npm start serves the volume functions itself', () => {
    expect(otherServicesLine({ AWS_ENDPOINT_URL_LAMBDA: 'http://127.0.0.1:3002' })).not.toContain('Lambda');
  });
});
