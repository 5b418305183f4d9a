// One function per volume in config/<stage>.yml: a Lambda function mounts one file system only,
// so each volume gets its own, with that volume's access point at /mnt/<volume>.
// serverless/config.cjs computes them (custom.slipway.volumeWorkerFunctions); custom.volumeWorker
// (serverless/functions/workers.yml) holds what they share (environment, IAM). Added before packaging,
// like any function.
class VolumeWorkers {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = { initialize: () => this.addFunctions() };
  }

  addFunctions() {
    const service = this.serverless.service;
    const computed = service.custom?.slipway?.volumeWorkerFunctions ?? {};
    const shared = service.custom?.volumeWorker ?? {};
    const subnetIds = service.custom?.slipway?.workerSubnetIds ?? [];
    const securityGroupIds = service.custom?.slipway?.workerSecurityGroupIds ?? [];
    for (const [key, fn] of Object.entries(computed)) {
      service.functions[key] = {
        name: fn.name,
        handler: 'functions/workers/volume-worker.handler',
        description: `Archives and restores volume ${fn.volume} (${fn.fileSystemId}), mounted at /mnt/${fn.volume}`,
        // The whole 15 minutes, and 1,769 MB: one full vCPU for tar and gzip.
        timeout: 900,
        memorySize: 1769,
        // Drills restore to this disk, never into the live volume.
        ephemeralStorageSize: 10240,
        // A job is claimed once; a retry would find it claimed, so Lambda does not retry.
        maximumRetryAttempts: 0,
        maximumEventAge: 3600,
        destinations: shared.destinations,
        vpc: { subnetIds, securityGroupIds },
        fileSystemConfig: { localMountPath: `/mnt/${fn.volume}`, arn: fn.accessPointArn },
        environment: { ...(shared.environment ?? {}) },
        iamRoleStatements: [
          ...(shared.iamRoleStatements ?? []),
          {
            Effect: 'Allow',
            Action: ['elasticfilesystem:ClientMount', 'elasticfilesystem:ClientWrite'],
            Resource: [
              {
                'Fn::Sub': `arn:\${AWS::Partition}:elasticfilesystem:\${AWS::Region}:\${AWS::AccountId}:file-system/${fn.fileSystemId}`,
              },
            ],
            Condition: { StringEquals: { 'elasticfilesystem:AccessPointArn': fn.accessPointArn } },
          },
        ],
        events: [],
      };
    }
  }
}

module.exports = VolumeWorkers;
