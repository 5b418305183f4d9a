import type { RDSClient } from '@aws-sdk/client-rds';
import type { Operation, Place } from '../aws/account-credentials';
import { createRdsClient } from '../aws/clients/rds';
import { accountCredentials } from './accounts';

// Typed by its parameters, as ecsFor is: the call graph of the IAM proof follows a function value to its own declaration.

/**
 * RDS where a database's resources are: the shared client in the control plane's account (in the database's
 * region), the operation's session on the account's role in another account.
 */
export const rdsFor = (place: Place, operation: Operation): RDSClient =>
  accountCredentials().client(createRdsClient, place, operation);
