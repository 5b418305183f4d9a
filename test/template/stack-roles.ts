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
      const policies = (values.resolve(resource.Properties?.Policies ?? []) ?? []) as Array<{
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
