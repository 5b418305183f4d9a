import { createDocumentClient } from '../aws/clients/dynamodb';
import { shared } from '../aws/shared-clients';
import { DeploymentReads } from '../deploy/queries';
import { DeploymentStore } from '../store/deployments';
import { config } from './config';
import { environment } from './environment';

let cached: DeploymentReads | undefined;

/** Deployment records, history and the apps listing: config and the state table, no other AWS service. */
export function deploymentReads(): DeploymentReads {
  cached ??= new DeploymentReads({
    config: config(),
    store: new DeploymentStore(shared(createDocumentClient), environment().stateTable),
  });
  return cached;
}
