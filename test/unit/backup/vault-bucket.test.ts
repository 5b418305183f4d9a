import { archiveDestination } from '../../../lib/backup/vault-bucket';
import { loadStageConfig } from '../../../lib/config/load';

/** Where a new archive or dump is written: the vault bucket config names, with its owner and region, else the backup bucket. */

describe('archiveDestination', () => {
  it('given a vault bucket in account vault, then archives go there, naming the vault account and region', () => {
    // given
    const config = loadStageConfig('kitchen-sink');

    // then
    expect(archiveDestination(config, 'slipway-kitchen-sink-backups')).toEqual({
      bucket: 'slipway-kitchen-sink-vault',
      vault: { accountId: '555555555555', region: 'us-east-1' },
    });
  });

  it('given no vault bucket, then archives go to the backup bucket, as no vault', () => {
    // given
    const config = structuredClone(loadStageConfig('kitchen-sink'));
    delete config.backups.vaultBucket;

    // then
    expect(archiveDestination(config, 'slipway-kitchen-sink-backups')).toEqual({
      bucket: 'slipway-kitchen-sink-backups',
    });
  });
});
