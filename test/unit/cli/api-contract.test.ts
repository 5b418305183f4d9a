import { DEPLOYMENT_STATES, IN_FLIGHT_STATES } from '../../../lib/deploy/records';
import {
  IN_FLIGHT_STATES as CLI_IN_FLIGHT,
  type DeploymentState as CliDeploymentState,
  DEPLOYMENT_FAILURES,
} from '../../../packages/cli/src/api';

/**
 * The CLI package declares the API's answers as it reads them (packages/cli/src/api.ts) rather than import
 * the control plane's records. The records themselves fit those declarations: the CLI's unit tests build
 * their fixtures as lib/'s types and hand them to the CLI's formatters, so a record that no longer fits
 * fails the typecheck. The states, which are values, are held together here.
 */

describe('the deployment states the CLI knows', () => {
  it('are the control plane’s, each in flight, a success or a failure, exactly once', () => {
    const known: readonly CliDeploymentState[] = DEPLOYMENT_STATES;
    expect(CLI_IN_FLIGHT).toEqual(IN_FLIGHT_STATES);
    expect([...CLI_IN_FLIGHT, 'SUCCEEDED', ...DEPLOYMENT_FAILURES].sort()).toEqual([...known].sort());
  });
});
