import { accountIdOf } from './account-ids';

/**
 * Who may assume the backup vault's role (backups.vaultAccount): the functions whose code reaches the vault
 * (lib/wiring/vault.ts), and no other, unless config also places environments, databases or repositories in the
 * vault account, which makes it a member account whose role every assuming function may need. Plain data, no zod:
 * serverless/config.cjs reads it while packaging, and the member template generator when it writes the trust.
 */

interface AccountsConfig {
  accounts: Record<string, { roleArn: string }>;
  backups: { vaultAccount?: string | undefined };
  apps: Record<string, { repository: string; environments: Record<string, { account?: string | undefined }> }>;
  databases: Record<string, { account?: string | undefined }>;
}

/** Whether config places an environment, a database or an ECR repository in the vault account. */
export function vaultIsMemberAccount(config: AccountsConfig): boolean {
  const name = config.backups.vaultAccount;
  const account = name === undefined ? undefined : config.accounts[name];
  if (name === undefined || account === undefined) return false;
  const id = accountIdOf(account.roleArn);
  const registry = (uri: string) => /^(\d{12})\.dkr\.ecr(?:-fips)?\.[a-z0-9-]+\.amazonaws\.com/.exec(uri)?.[1];
  return (
    Object.values(config.apps).some(
      (app) => registry(app.repository) === id || Object.values(app.environments).some((env) => env.account === name),
    ) || Object.values(config.databases).some((db) => db.account === name)
  );
}

/** The accounts whose roles every assuming function may assume: all config names but a vault that is nothing else. */
export function broadlyAssumedAccounts(config: AccountsConfig): string[] {
  const vault = vaultIsMemberAccount(config) ? undefined : config.backups.vaultAccount;
  return Object.keys(config.accounts).filter((name) => name !== vault);
}
