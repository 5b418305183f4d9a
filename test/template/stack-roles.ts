import type { CloudFormationTemplate } from '../support/package';
import type { TemplateValues } from './cloudformation';
import type { PolicyDocument } from './iam-requests';
import type { Role } from './iam-simulation';

/** The roles of a packaged stack, as IAM sees them. */

export interface StackRole {
  logicalId: string;
  /** The functions whose role it is; none for the worker's roles. */
  functions: string[];
  handlers: string[];
  role: Role;
}

/** Every role of the stack that exists, with its inline policies resolved, and the functions it serves. */
export function stackRoles(template: CloudFormationTemplate, values: TemplateValues): StackRole[] {
  const functions = Object.entries(template.Resources).filter(
    ([, resource]) => resource.Type === 'AWS::Lambda::Function',
  );
  return Object.entries(template.Resources)
    .filter(([, resource]) => resource.Type === 'AWS::IAM::Role')
    .filter(([, resource]) => {
      const condition = (resource as { Condition?: string }).Condition;
      return condition === undefined || values.condition(condition);
    })
    .map(([logicalId, resource]) => {
      const served = functions.filter(
        ([, fn]) => (fn.Properties?.Role as { 'Fn::GetAtt'?: [string, string] })?.['Fn::GetAtt']?.[0] === logicalId,
      );
      // Its inline policies, and the AWS::IAM::Policy resources attached to it (the worker task's vault grant).
      const attached = Object.values(template.Resources)
        .filter(
          (other) =>
            other.Type === 'AWS::IAM::Policy' &&
            ((other.Properties?.Roles ?? []) as Array<{ Ref?: string }>).some((ref) => ref.Ref === logicalId) &&
            ((other as { Condition?: string }).Condition === undefined ||
              values.condition((other as { Condition?: string }).Condition as string)),
        )
        .map((other) => ({
          PolicyName: other.Properties?.PolicyName,
          PolicyDocument: other.Properties?.PolicyDocument,
        }));
      const policies = (values.resolve([...((resource.Properties?.Policies ?? []) as unknown[]), ...attached]) ??
        []) as Array<{
        PolicyName: string;
        PolicyDocument: PolicyDocument;
      }>;
      return {
        logicalId,
        functions: served.map(([id]) => id),
        handlers: served.map(([, fn]) => `${String(fn.Properties?.Handler).replace(/\.[^.]+$/, '')}.ts`),
        role: {
          arn: values.text({ 'Fn::GetAtt': [logicalId, 'Arn'] }),
          policies: policies.map(({ PolicyName, PolicyDocument }) => ({ name: PolicyName, document: PolicyDocument })),
        },
      };
    });
}
