/**
 * Account ids from the accounts config: read at run time by the event edge, so this module loads no zod (the
 * config sections do, for packaging).
 */

/** The id of the account a role ARN names (arn:<partition>:iam::<account>:role/<path><name>). */
export const accountIdOf = (roleArn: string): string => roleArn.split(':')[4] as string;

/** The ids of the accounts config names, by name: each is its role's account. */
export function memberAccountIds(accounts: Record<string, { roleArn: string }>): Record<string, string> {
  return Object.fromEntries(Object.entries(accounts).map(([name, { roleArn }]) => [name, accountIdOf(roleArn)]));
}
