'use strict';

// Serverless v3's schema predates the nodejs22.x Lambda runtime; CloudFormation
// accepts it, so the plugin adds it to the allowed values instead of turning
// configuration validation off.
class NodeRuntimeSchema {
  constructor(serverless) {
    const runtimes = serverless.configSchemaHandler.schema.definitions.awsLambdaRuntime;
    if (runtimes && Array.isArray(runtimes.enum) && !runtimes.enum.includes('nodejs22.x')) {
      runtimes.enum.push('nodejs22.x');
    }
  }
}

module.exports = NodeRuntimeSchema;
