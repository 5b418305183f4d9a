import { runSimulation } from '@cloud-copilot/iam-simulate';
import type { AwsPlace } from './cloudformation';
import { type AwsRequest, type PolicyDocument, placeOf } from './iam-requests';

/**
 * How IAM decides a request, by @cloud-copilot/iam-simulate: the caller's identity policies and the
 * resource's own policy, with the condition keys every request of a role's session carries.
 */

export interface Role {
  arn: string;
  policies: Array<{ name: string; document: PolicyDocument }>;
}

/** Why IAM would refuse the request to the role, or undefined when it allows it. */
export async function refusalOf(request: AwsRequest, role: Role, place: AwsPlace): Promise<string | undefined> {
  const result = await runSimulation(
    {
      identityPolicies: role.policies.map(({ name, document }) => ({ name, policy: document as never })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: request.resourcePolicy as never,
      request: {
        action: request.action,
        principal: role.arn,
        resource: { resource: request.resource, accountId: placeOf(request.resource, place).account },
        contextVariables: {
          ...request.context,
          // Set on every request a function or task makes with its role's session, over TLS.
          'aws:PrincipalArn': role.arn,
          'aws:PrincipalAccount': place.account,
          'aws:SecureTransport': 'true',
        },
      },
    },
    {},
  );
  if (result.resultType === 'error') return `not a valid request: ${JSON.stringify(result.errors)}`;
  if (result.resultType === 'single') {
    // A condition key the action does not take is one the request would never carry: a modelling mistake.
    const ignored = result.result.ignoredContextKeys ?? [];
    if (ignored.length > 0) return `carries condition keys ${request.action} does not take: ${ignored.join(', ')}`;
    return result.overallResult === 'Allowed' ? undefined : result.overallResult;
  }
  // A request naming no resource is allowed by `Resource: "*"` only, however narrower grants overlap it.
  if (result.overallResult !== 'Allowed') return result.overallResult;
  const everything = result.results.find((found) => found.resourcePattern === '*');
  return everything?.analysis.result === 'Allowed'
    ? undefined
    : 'ImplicitlyDenied: the call names no resource, and only narrower resources than "*" are granted';
}
