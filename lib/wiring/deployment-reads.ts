import { DeploymentReads } from '../deploy/queries';
import { config } from './config';
import { deploymentStore } from './stores';

let cached: DeploymentReads | undefined;

/** Deployment records, history and the apps listing: config and the state table, no other AWS service. */
export function deploymentReads(): DeploymentReads {
  cached ??= new DeploymentReads({ config: config(), store: deploymentStore() });
  return cached;
}
