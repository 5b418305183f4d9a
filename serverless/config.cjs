// Validates config/<stage>.yml while serverless.yml is resolved, so `sls package`
// and `sls offline` refuse an invalid file with its key path and reason.
const { register } = require('tsx/cjs/api');

module.exports = async ({ resolveVariable }) => {
  const stage = await resolveVariable('sls:stage');
  const unregister = register();
  try {
    const { loadStageConfig } = require('../lib/config/load.ts');
    const config = loadStageConfig(stage);
    return {
      stage,
      tokensSecretArn: secretArn(config.auth.tokensSecret),
    };
  } catch (error) {
    // Serverless prints the message; the cause (a zod error) is noise here.
    throw new Error(error.message);
  } finally {
    unregister();
  }
};

// Secrets Manager appends a random six-character suffix to secret ARNs.
function secretArn(nameOrArn) {
  if (nameOrArn.startsWith('arn:')) return nameOrArn;
  return {
    'Fn::Sub': `arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:${nameOrArn}-??????`,
  };
}
