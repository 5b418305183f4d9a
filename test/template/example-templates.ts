import type { CloudFormationTemplate } from '../support/package';
import type { Finding } from './cfn-lint';
import { TEST_PLACE, templateValues } from './cloudformation';
import { refusalOf } from './iam-simulation';
import { type StackRole, stackRoles } from './stack-roles';

/**
 * A worked example's packaged template, read the way its runbook relies on it: the schedules of its
 * functions, its alarms by name, and whether a function's role may make a request on the example's own
 * resources (decided by the IAM simulator, as the IAM proof of iam-actions.test.ts decides it).
 */

export interface ExampleTemplate {
  stage: string;
  template: CloudFormationTemplate;
  findings: Finding[];
  /** The schedule rules that start `functionId` (its logical id without LambdaFunction), as [expression, input]. */
  schedules(functionId: string): Array<[string, unknown]>;
  /** The properties of the alarm named slipway-<stage>-<suffix>; throws when there is none. */
  alarm(suffix: string): Record<string, unknown>;
  /** Why IAM would refuse the request to the role of the function whose handler is `handler`; undefined when allowed. */
  refusal(
    handler: string,
    request: { action: string; resource: string; context?: Record<string, string> },
  ): Promise<string | undefined>;
}

export function exampleTemplate(stage: string, template: CloudFormationTemplate, findings: Finding[]): ExampleTemplate {
  const resources = Object.values(template.Resources);
  const roles: StackRole[] = stackRoles(template, templateValues(template, TEST_PLACE, `slipway-${stage}`));
  return {
    stage,
    template,
    findings,
    schedules: (functionId) =>
      resources
        .filter(
          (resource) =>
            resource.Type === 'AWS::Events::Rule' &&
            resource.Properties?.ScheduleExpression !== undefined &&
            JSON.stringify(resource.Properties?.Targets ?? []).includes(`"${functionId}LambdaFunction"`),
        )
        .map((rule) => {
          const [target] = (rule.Properties?.Targets ?? []) as Array<{ Input?: string }>;
          return [String(rule.Properties?.ScheduleExpression), target?.Input ? JSON.parse(target.Input) : undefined];
        }),
    alarm: (suffix) => {
      const name = `slipway-${stage}-${suffix}`;
      const found = resources.find(
        (resource) => resource.Type === 'AWS::CloudWatch::Alarm' && resource.Properties?.AlarmName === name,
      );
      if (!found?.Properties) throw new Error(`the template has no alarm ${name}`);
      return found.Properties;
    },
    refusal: async (handler, request) => {
      const role = roles.find((each) => each.handlers.includes(handler));
      if (!role) throw new Error(`no function of the template runs ${handler}`);
      return refusalOf({ ...request, context: request.context ?? {}, what: request.resource }, role.role, TEST_PLACE);
    },
  };
}
