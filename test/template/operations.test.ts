import { rmSync } from 'node:fs';
import { type CloudFormationTemplate, packagedProd, readTemplate } from '../support/package';

/** What operating Slipway needs from the packaged template: alarms on every function and the queue, one dashboard. */

let dir: string;
let owned = false;
let template: CloudFormationTemplate;

beforeAll(async () => {
  ({ dir, owned } = await packagedProd());
  template = readTemplate(dir);
});

afterAll(() => {
  if (dir && owned) rmSync(dir, { recursive: true, force: true });
});

type Resource = CloudFormationTemplate['Resources'][string];

const ofType = (type: string): Array<[string, Resource]> =>
  Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);

const alarmsOn = (metricName: string, logicalId: string) =>
  ofType('AWS::CloudWatch::Alarm').filter(
    ([, alarm]) =>
      alarm.Properties?.Namespace === 'AWS/Lambda' &&
      alarm.Properties.MetricName === metricName &&
      JSON.stringify(alarm.Properties.Dimensions) ===
        JSON.stringify([{ Name: 'FunctionName', Value: { Ref: logicalId } }]),
  );

interface MetricWidget {
  type: string;
  properties: {
    title: string;
    view: string;
    region: string;
    metrics: unknown[][];
  };
}

function dashboardBody(): { widgets: MetricWidget[] } {
  const [, dashboard] = ofType('AWS::CloudWatch::Dashboard')[0] ?? [];
  const body = dashboard?.Properties?.DashboardBody as { 'Fn::Sub': string } | undefined;
  if (!body) throw new Error('the template has no dashboard body');
  // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub placeholder, not JavaScript
  return JSON.parse(body['Fn::Sub'].replaceAll('${AWS::Region}', 'us-east-1'));
}

const expressionsOf = (widget: MetricWidget) =>
  widget.properties.metrics.flatMap((row) =>
    row.filter(
      (item): item is { expression: string } => typeof item === 'object' && item !== null && 'expression' in item,
    ),
  );

describe('operations in the packaged template (stage prod)', () => {
  it('has, for every Lambda function, exactly one errors and one throttles alarm sent to the topic', () => {
    const functions = ofType('AWS::Lambda::Function');
    expect(functions.length).toBeGreaterThan(10);

    for (const [logicalId] of functions) {
      for (const [metricName, suffix] of [
        ['Errors', 'errors'],
        ['Throttles', 'throttles'],
      ] as const) {
        const alarms = alarmsOn(metricName, logicalId);
        expect({ logicalId, metricName, count: alarms.length }).toEqual({ logicalId, metricName, count: 1 });
        expect(alarms[0]?.[1].Properties).toEqual({
          AlarmName: expect.stringMatching(new RegExp(`^slipway-prod-[A-Za-z0-9]+-${suffix}$`)),
          AlarmDescription: expect.any(String),
          Namespace: 'AWS/Lambda',
          MetricName: metricName,
          Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId } }],
          Statistic: 'Sum',
          Period: 300,
          EvaluationPeriods: 1,
          DatapointsToAlarm: 1,
          Threshold: 1,
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
          TreatMissingData: 'notBreaching',
          AlarmActions: [{ Ref: 'NotificationsTopic' }],
          OKActions: [{ Ref: 'NotificationsTopic' }],
        });
      }
    }
  });

  it('names function alarms after the function in serverless.yml', () => {
    const [, alarm] = alarmsOn('Errors', 'CreateDeploymentLambdaFunction')[0] ?? [];
    expect(alarm?.Properties?.AlarmName).toBe('slipway-prod-createDeployment-errors');
    const [, throttles] = alarmsOn('Throttles', 'EcsDeploymentStateLambdaFunction')[0] ?? [];
    expect(throttles?.Properties?.AlarmName).toBe('slipway-prod-ecsDeploymentState-throttles');
  });

  it('alarms on the first event kept in the dead-letter queue', () => {
    expect(template.Resources.DeadLetterQueueDepthAlarm).toEqual({
      Type: 'AWS::CloudWatch::Alarm',
      Properties: expect.objectContaining({
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': ['DeadLetterQueue', 'QueueName'] } }],
        Statistic: 'Maximum',
        Period: 300,
        EvaluationPeriods: 1,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        AlarmActions: [{ Ref: 'NotificationsTopic' }],
        OKActions: [{ Ref: 'NotificationsTopic' }],
      }),
    });
  });

  it('has one dashboard whose body is JSON of metric widgets in the stack region', () => {
    const dashboards = ofType('AWS::CloudWatch::Dashboard');
    expect(dashboards).toHaveLength(1);
    expect(dashboards[0]?.[1].Properties?.DashboardName).toBe('slipway-prod');

    const { widgets } = dashboardBody();
    expect(widgets.length).toBeGreaterThanOrEqual(7);
    for (const widget of widgets) {
      expect(widget).toMatchObject({ type: 'metric', properties: { view: 'timeSeries', region: 'us-east-1' } });
      for (const expression of expressionsOf(widget)) {
        expect(expression).toEqual({
          expression: expect.any(String),
          id: expect.stringMatching(/^[a-z]\w*$/),
          label: expect.any(String),
        });
      }
    }
  });

  it('graphs probes, deployments, the control plane functions and the dead-letter queue with searches', () => {
    const expressions = dashboardBody().widgets.flatMap((widget) =>
      expressionsOf(widget).map(({ expression }) => expression),
    );
    expect(expressions).toEqual(
      expect.arrayContaining([
        `SEARCH('{Slipway,App,Environment,Check} MetricName="Availability"', 'Average', 60)`,
        `SEARCH('{Slipway,App,Environment,Check} MetricName="LatencyMs"', 'p99', 60)`,
        `SEARCH('{Slipway,App,Environment,Check} MetricName="CertDaysRemaining"', 'Minimum', 3600)`,
        `SUM(SEARCH('Namespace="Slipway" MetricName="DeploymentsRequested"', 'Sum', 300))`,
        `SUM(SEARCH('Namespace="Slipway" MetricName="DeploymentsSucceeded"', 'Sum', 300))`,
        `SUM(SEARCH('Namespace="Slipway" MetricName="DeploymentsEnded"', 'Sum', 300))`,
        `SEARCH('{AWS/Lambda,FunctionName} MetricName="Errors" slipway-prod-', 'Sum', 300)`,
        `SEARCH('{AWS/Lambda,FunctionName} MetricName="Duration" slipway-prod-', 'p95', 300)`,
      ]),
    );
    const queue = dashboardBody()
      .widgets.flatMap((widget) => widget.properties.metrics)
      .find((row) => row[0] === 'AWS/SQS');
    expect(queue).toEqual([
      'AWS/SQS',
      'ApproximateNumberOfMessagesVisible',
      'QueueName',
      'slipway-prod-dead-letters',
      expect.objectContaining({ stat: 'Maximum' }),
    ]);
  });
});
