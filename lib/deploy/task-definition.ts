import { isDeepStrictEqual } from 'node:util';
import type { RegisterTaskDefinitionCommandInput, Tag, TaskDefinition } from '@aws-sdk/client-ecs';
import { Unprocessable } from '../errors';

/**
 * The next task definition revision: the one the service runs now, with only
 * the target containers' images changed, pinned by digest so that what was
 * approved is exactly what runs.
 */

/** Fields DescribeTaskDefinition returns that RegisterTaskDefinition does not take. */
export const DESCRIBE_ONLY_FIELDS = [
  'taskDefinitionArn',
  'revision',
  'status',
  'requiresAttributes',
  'compatibilities',
  'registeredAt',
  'registeredBy',
  'deregisteredAt',
] as const satisfies ReadonlyArray<keyof TaskDefinition>;

export interface ImageChange {
  container: string;
  from: string | undefined;
  to: string;
}

export interface TaskDefinitionPlan {
  input: RegisterTaskDefinitionCommandInput;
  changes: ImageChange[];
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;

/** `repository@sha256:…`, whatever the repository reference carried before. */
export function pinnedImage(repository: string, digest: string): string {
  if (!DIGEST.test(digest)) throw new Unprocessable(`${digest} is not an image digest (sha256:<64 hex digits>)`);
  return `${repository}@${digest}`;
}

export function planTaskDefinition(
  current: TaskDefinition,
  tags: Tag[] | undefined,
  target: { containers: string[]; repository: string; digest: string },
): TaskDefinitionPlan {
  const image = pinnedImage(target.repository, target.digest);
  const definitions = current.containerDefinitions ?? [];
  const missing = target.containers.filter((name) => !definitions.some((definition) => definition.name === name));
  if (missing.length > 0) {
    throw new Unprocessable(
      `task definition ${current.family ?? ''} has no container named ${missing.join(', ')} (it has ${definitions
        .map((definition) => definition.name)
        .join(', ')})`,
      { details: { missing } },
    );
  }

  const changes: ImageChange[] = [];
  const containerDefinitions = definitions.map((definition) => {
    if (!definition.name || !target.containers.includes(definition.name)) return definition;
    changes.push({ container: definition.name, from: definition.image, to: image });
    return { ...definition, image };
  });

  const copy: Record<string, unknown> = { ...current };
  for (const field of DESCRIBE_ONLY_FIELDS) delete copy[field];
  const input = { ...copy, containerDefinitions } as RegisterTaskDefinitionCommandInput;
  // RegisterTaskDefinition refuses an empty tag list; tags are re-attached only when there are some.
  if (tags && tags.length > 0) input.tags = tags;
  return { input, changes };
}

const roleName = (role: string) => role.slice(role.lastIndexOf('/') + 1);

/**
 * The roles among `roles` that `listed` does not name, each once. ECS takes a role's name or its
 * ARN, so a name matches the listed ARN that ends in it.
 */
export function rolesNotListed(roles: ReadonlyArray<string | undefined>, listed: readonly string[]): string[] {
  const isListed = (role: string) =>
    role.startsWith('arn:') ? listed.includes(role) : listed.some((arn) => roleName(arn) === role);
  return [...new Set(roles.filter((role): role is string => role !== undefined && role !== '' && !isListed(role)))];
}

/**
 * The task and execution roles of a revision to register that the environment does not list in
 * passRoles (none when it lists none: then any role may be passed).
 */
export function unlistedRoles(
  input: Pick<RegisterTaskDefinitionCommandInput, 'taskRoleArn' | 'executionRoleArn'>,
  passRoles: readonly string[] | undefined,
): string[] {
  return passRoles ? rolesNotListed([input.taskRoleArn, input.executionRoleArn], passRoles) : [];
}

/** The 422 for roles Slipway would have to pass to ECS that the environment's `key` does not list. */
export function unlistedRolesRefused(
  usedBy: string,
  unlisted: string[],
  key: 'passRoles' | 'lifecycleHookRoles',
  listed: readonly string[] | undefined,
): Unprocessable {
  return new Unprocessable(
    `${usedBy} ${unlisted.join(' and ')}, which ${key} of this environment does not list; Slipway may not pass ${unlisted.length === 1 ? 'it' : 'them'} to ECS`,
    { details: { roles: unlisted, [key]: listed ?? [] } },
  );
}

type Named = { name?: string | undefined };
type Definition = TaskDefinition | RegisterTaskDefinitionCommandInput;

// A revision's own identity and ECS's bookkeeping, not something a deployment changes.
const NOT_COMPARED = new Set<string>([...DESCRIBE_ONLY_FIELDS, 'tags']);
// Lists of name/value pairs whose values may be secret: compared by name, reported by name only.
const BY_NAME = new Set(['environment', 'secrets']);

const byName = <T extends Named>(items: readonly T[] | undefined) =>
  new Map((items ?? []).map((item) => [item.name ?? '', item]));

function changedNames(path: string, from: readonly Named[] | undefined, to: readonly Named[] | undefined): string[] {
  const [before, after] = [byName(from), byName(to)];
  const names = [...new Set([...before.keys(), ...after.keys()])].sort();
  return names.filter((name) => !isDeepStrictEqual(before.get(name), after.get(name))).map((name) => `${path}.${name}`);
}

function changedKeys(
  path: string,
  from: Record<string, unknown>,
  to: Record<string, unknown>,
  skip: ReadonlySet<string>,
): string[] {
  const keys = [...new Set([...Object.keys(from), ...Object.keys(to)])].filter((key) => !skip.has(key)).sort();
  return keys.flatMap((key) => {
    if (BY_NAME.has(key)) return changedNames(`${path}${key}`, from[key] as Named[], to[key] as Named[]);
    return isDeepStrictEqual(from[key], to[key]) ? [] : [`${path}${key}`];
  });
}

/**
 * The fields that differ between two revisions, as paths (`containerDefinitions.web.image`). An
 * environment variable or a secret is named, never valued (`containerDefinitions.web.environment.API_KEY`):
 * a plan may be shown to anyone who may deploy, and the values are the application's.
 */
export function changedFields(from: Definition, to: Definition): string[] {
  const fields = (definition: Definition) => definition as Record<string, unknown>;
  const top = changedKeys('', fields(from), fields(to), new Set([...NOT_COMPARED, 'containerDefinitions']));
  const [before, after] = [byName(from.containerDefinitions), byName(to.containerDefinitions)];
  const containers = [...new Set([...before.keys(), ...after.keys()])].sort().flatMap((name) => {
    const [old, next] = [before.get(name), after.get(name)];
    if (!old || !next) return [`containerDefinitions.${name}`];
    return changedKeys(`containerDefinitions.${name}.`, { ...old }, { ...next }, new Set());
  });
  return [...top, ...containers];
}
