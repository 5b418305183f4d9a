import type { AwsRequest, PolicyDocument } from '../template/iam-requests';
import type { Role } from '../template/iam-simulation';

/**
 * How the unit tests of a member account's template ask IAM about its target role (test/unit/events/member-account-*):
 * the role's policies as CloudFormation resolves them in the account, and requests as the session on the role sends
 * them, in the region of their resource.
 */

// biome-ignore lint/suspicious/noExplicitAny: a CloudFormation template, read here by its paths
type Json = Record<string, any>;

/** A template value as CloudFormation resolves it in `account`. */
export function resolvedIn(account: string, value: unknown): unknown {
  if (Array.isArray(value)) return value.map((item) => resolvedIn(account, item));
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value);
  const [only] = entries;
  if (entries.length === 1 && only?.[0] === 'Fn::Sub') {
    const names: Record<string, string> = { 'AWS::Partition': 'aws', 'AWS::AccountId': account };
    return (only[1] as string).replace(/\$\{([^}]+)\}/g, (_, name: string) => names[name] ?? `<${name}>`);
  }
  return Object.fromEntries(entries.map(([key, inner]) => [key, resolvedIn(account, inner)]));
}

/** The template's target role, `arn`, with its policies as deployed in `account`. */
export const targetRole = (template: Json, arn: string, account: string): Role => ({
  arn,
  policies: (resolvedIn(account, template.Resources.TargetRole.Properties.Policies) as Json[]).map((policy) => ({
    name: policy.PolicyName as string,
    document: policy.PolicyDocument as PolicyDocument,
  })),
});

/** A request as the session on the role sends it: in the region of its resource (aws:RequestedRegion). */
export const ask = (
  action: string,
  resource: string,
  region: string,
  context: Record<string, string | string[]> = {},
): AwsRequest => ({
  action,
  resource,
  what: resource,
  context: { 'aws:RequestedRegion': region, ...context },
});

/** What KMS sets on a request RDS makes in `region` as the caller. */
export const viaRds = (region: string) => ({ 'kms:ViaService': `rds.${region}.amazonaws.com` });

/**
 * A KMS request on a key of `account`, with the key's default key policy, which lets the account's IAM policies
 * decide (KMS Developer Guide, "Default key policy").
 */
export const kmsIn =
  (account: string) =>
  (action: string, key: string, region: string, context: Record<string, string | string[]> = {}): AwsRequest => ({
    ...ask(action, key, region, context),
    resourcePolicy: {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${account}:root` }, Action: 'kms:*', Resource: '*' },
      ],
    },
  });

/** Whether IAM's answer is a refusal. */
export const denied = (why: string | undefined) => why !== undefined && /^(Implicitly|Explicitly)Denied/.test(why);
