import { runSimulation } from '@cloud-copilot/iam-simulate';
import type { PolicyDocument } from './iam-requests';
import type { Role } from './iam-simulation';

/**
 * IAM's decision on a request to an S3 bucket or one of its objects by @cloud-copilot/iam-simulate: the caller's
 * identity policies with the bucket's own policy, the bucket in its own account, so that a request from another
 * account needs both to allow it (Amazon S3 User Guide, "How Amazon S3 authorizes a request").
 */

export interface SimulatedBucket {
  arn: string;
  account: string;
  policy: PolicyDocument | undefined;
}

/** `Allowed`, `ImplicitlyDenied` or `ExplicitlyDenied` for `action` by `role` on `key` of the bucket (itself when absent). */
export async function bucketDecision(
  role: Role,
  action: string,
  bucket: SimulatedBucket,
  key?: string,
  context: Record<string, string> = {},
): Promise<string> {
  const result = await runSimulation(
    {
      identityPolicies: role.policies.map(({ name, document }) => ({ name, policy: document as never })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(bucket.policy ? { resourcePolicy: bucket.policy as never } : {}),
      request: {
        action,
        principal: role.arn,
        resource: { resource: key === undefined ? bucket.arn : `${bucket.arn}/${key}`, accountId: bucket.account },
        contextVariables: {
          'aws:PrincipalArn': role.arn,
          'aws:PrincipalAccount': role.arn.split(':')[4] as string,
          'aws:SecureTransport': 'true',
          ...context,
        },
      },
    },
    {},
  );
  if (result.resultType === 'error') throw new Error(JSON.stringify(result.errors));
  return result.overallResult;
}
