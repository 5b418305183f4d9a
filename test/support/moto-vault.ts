import {
  CopyDBSnapshotCommand,
  type CopyDBSnapshotCommandInput,
  CreateDBInstanceCommand,
  type CreateDBInstanceCommandInput,
  CreateDBSnapshotCommand,
  DescribeDBInstancesCommand,
  type RDSClient,
} from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import type { AccountCredentials, Operation } from '../../lib/aws/account-credentials';
import { createRdsClient } from '../../lib/aws/clients/rds';

/**
 * The backup vault's RDS on moto, as the operation's session on the vault account's role, with the one call moto
 * lacks answered as RDS would: a cross-account CopyDBSnapshot. moto 5.2.1 looks a source ARN's snapshot up by name in
 * the caller's own account (moto/rds/models.py, RDSBackend.get_snapshot ignores the ARN's account), so the vault's
 * copy of a shared snapshot is never found. That call is answered with aws-sdk-client-mock on the vault session's
 * client: it records what Slipway sends (`copiesAsked`), and makes in the vault what RDS would (a manual snapshot of
 * that name, with the tags asked for, of a stand-in instance there). Every other call goes to moto.
 */
export function vaultOnMoto(options: {
  /** The control plane's sessions on the accounts' roles, the vault's among them (named `vault`). */
  accounts: () => AccountCredentials;
  /** RDS in the vault account with an operator's credentials, in the copies' region. */
  inVault: () => RDSClient;
  /** The stand-in instance the vault's copies are made of. */
  standIn: CreateDBInstanceCommandInput;
}) {
  const copiesAsked: CopyDBSnapshotCommandInput[] = [];
  const stubs: Array<{ restore: () => void }> = [];
  const stubbed = new WeakSet<RDSClient>();

  async function copyAsRdsWould(input: CopyDBSnapshotCommandInput) {
    copiesAsked.push(input);
    const vault = options.inVault();
    const { DBInstanceIdentifier } = options.standIn;
    const standIn = await vault.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier })).catch(() => undefined);
    if (!standIn) await vault.send(new CreateDBInstanceCommand(options.standIn));
    const { DBSnapshot } = await vault.send(
      new CreateDBSnapshotCommand({
        DBSnapshotIdentifier: input.TargetDBSnapshotIdentifier,
        DBInstanceIdentifier,
        Tags: input.Tags,
      }),
    );
    return { DBSnapshot };
  }

  function rdsIn(region: string, operation: Operation): RDSClient {
    const client = options.accounts().client(createRdsClient, { account: 'vault', region }, operation);
    if (!stubbed.has(client)) {
      const stub = mockClient(client);
      stub.send.callThrough();
      stub.on(CopyDBSnapshotCommand).callsFake(copyAsRdsWould);
      stubbed.add(client);
      stubs.push(stub);
    }
    return client;
  }

  return {
    rdsIn,
    copiesAsked,
    restore: () => {
      for (const stub of stubs) stub.restore();
    },
  };
}
