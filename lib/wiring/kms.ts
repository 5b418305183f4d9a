import type { KMSClient } from '@aws-sdk/client-kms';
import type { Operation, Place } from '../aws/account-credentials';
import { createKmsClient } from '../aws/clients/kms';
import { accountCredentials } from './accounts';

// Typed by its parameters, as rdsFor is: the call graph of the IAM proof follows a function value to its own declaration.

/**
 * KMS where a database's key is: the shared client in the control plane's account (in the database's region), the
 * operation's session on the account's role in another account.
 */
export const kmsFor = (place: Place, operation: Operation): KMSClient =>
  accountCredentials().client(createKmsClient, place, operation);
