'use strict';

// Every control-plane function gets an errors and a throttles alarm, sent to the notifications
// topic: a function failing or being throttled is how a lost deployment event starts, and a new
// function in serverless.yml must not be the one nobody watches.
// The hook runs after every function and event is compiled and before `resources:` is merged,
// so serverless.yml can still extend or replace an alarm there (resources.extensions).

const METRICS = [
  { metricName: 'Errors', suffix: 'errors', logicalSuffix: 'ErrorsAlarm', what: 'failed' },
  { metricName: 'Throttles', suffix: 'throttles', logicalSuffix: 'ThrottlesAlarm', what: 'was throttled' },
];

class FunctionAlarms {
  constructor(serverless, options = {}) {
    this.serverless = serverless;
    this.options = options;
    this.hooks = {
      'before:package:finalize': () => this.addAlarms(),
    };
  }

  addAlarms() {
    const { service } = this.serverless;
    const provider = this.serverless.getProvider('aws');
    const template = service.provider.compiledCloudFormationTemplate;
    const stage = this.options.stage ?? service.provider.stage;
    const prefix = `${service.service}-${stage}`;

    // Alarm names carry the function's name from serverless.yml: the one people know it by.
    const names = new Map(service.getAllFunctions().map((name) => [provider.naming.getLambdaLogicalId(name), name]));

    for (const [logicalId, resource] of Object.entries(template.Resources)) {
      if (resource.Type !== 'AWS::Lambda::Function') continue;
      const name = names.get(logicalId) ?? logicalId;
      const base = names.has(logicalId) ? provider.naming.getNormalizedFunctionName(name) : logicalId;
      for (const metric of METRICS) {
        template.Resources[`${base}${metric.logicalSuffix}`] = {
          Type: 'AWS::CloudWatch::Alarm',
          Properties: {
            AlarmName: `${prefix}-${name}-${metric.suffix}`,
            AlarmDescription: `Slipway: function ${name} ${metric.what} in the last 5 minutes`,
            Namespace: 'AWS/Lambda',
            MetricName: metric.metricName,
            Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId } }],
            Statistic: 'Sum',
            Period: 300,
            EvaluationPeriods: 1,
            DatapointsToAlarm: 1,
            Threshold: 1,
            ComparisonOperator: 'GreaterThanOrEqualToThreshold',
            // No invocations means nothing failed.
            TreatMissingData: 'notBreaching',
            AlarmActions: [{ Ref: 'NotificationsTopic' }],
            OKActions: [{ Ref: 'NotificationsTopic' }],
          },
        };
      }
    }
  }
}

module.exports = FunctionAlarms;
