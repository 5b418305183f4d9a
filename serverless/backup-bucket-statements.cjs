// The backup bucket's policy (resources/backup-bucket.yml) takes statements made from config: one per member
// account's exported database (lib/backup/member-export-bucket-policy.ts), as many as config names. A file's list
// cannot grow by a variable (serverless merges resource files' lists by index), so they are appended here.
class BackupBucketStatements {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = { initialize: () => this.append() };
  }

  append() {
    const statements = this.serverless.service.custom?.slipway?.backupBucketExportStatements ?? [];
    if (statements.length === 0) return;
    const policy = this.serverless.service.resources?.Resources?.BackupBucketPolicy;
    if (!policy) throw new Error('resources/backup-bucket.yml has no BackupBucketPolicy to add the exports to');
    policy.Properties.PolicyDocument.Statement.push(...statements);
  }
}

module.exports = BackupBucketStatements;
