import type { Operation } from '../aws/account-credentials';
import { memberAccountIds } from '../config/account-ids';
import type { EcrFor } from '../deploy/deployments-context';
import { type EcrRepository, ecrRepository } from '../deploy/ecs';

/**
 * Where a release reads an ECR repository from, as plain data: a repository in an account config names is read
 * as a session on that account's role, in the repository's region; any other with the function's own
 * credentials. And whether an ECR or Amazon Inspector event comes from where config's repository of that name is.
 */

/** The accounts config names, by their ids (the account of each one's role). */
export function accountsById(accounts: Record<string, { roleArn: string }>): ReadonlyMap<string, string> {
  return new Map(Object.entries(memberAccountIds(accounts)).map(([name, id]) => [id, name]));
}

/** The session a repository is read as: the operation's, on the role of the account config names that holds it. */
export function repositoryReadSession(
  byId: ReadonlyMap<string, string>,
  repository: Pick<EcrRepository, 'registryId'>,
  operation: Operation,
): Parameters<EcrFor>[1] {
  const account = byId.get(repository.registryId);
  return account === undefined ? undefined : { account, operation };
}

/** A release's id (`release-` and its digest's first 32 hex digits), which its sessions are named after. */
export const releaseId = (digest: string): string => `release-${digest.replace(/^sha256:/, '').slice(0, 32)}`;

/**
 * A release's session: named after the release, with who pushed (`ecr-push`, `webhook:<registry>`) as its source
 * identity, and tagged with the environment it is for when it is for one.
 */
export function releaseOperation(
  release: { digest: string; source: string },
  target?: { app: string; environment: string },
): Operation {
  return {
    id: releaseId(release.digest),
    principal: release.source,
    ...(target ? { app: target.app, environment: target.environment } : {}),
  };
}

/**
 * Config's repository an ECR or Inspector event names by `repository` (its URI as the event tells it) when the
 * event does not come from there: the repository of that URI in another account or region than the event's
 * (Inspector names the repository by ARN), or one of the same name elsewhere when config has none at the event's.
 */
export function repositoryElsewhere(
  repositories: Iterable<string>,
  event: { account: string; region?: string | undefined },
  repository: string,
): EcrRepository | undefined {
  const named = ecrRepository(repository);
  if (!named) return undefined;
  const here = (ecr: EcrRepository) => ecr.registryId === event.account && ecr.region === event.region;
  let elsewhere: EcrRepository | undefined;
  for (const uri of repositories) {
    const configured = ecrRepository(uri);
    if (!configured || configured.repositoryName !== named.repositoryName) continue;
    if (here(configured) && uri === repository) return undefined;
    if (!here(configured) && (elsewhere === undefined || uri === repository)) elsewhere = configured;
  }
  return elsewhere;
}
