import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  AssumeRoleCommand,
  type AssumeRoleCommandInput,
  type AssumeRoleCommandOutput,
  type STSClient,
} from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity } from '@smithy/types';
import { AssumeRoleFailed, ConfigError } from '../errors';
import type { Credentials } from './client-config';
import { createSecretsManagerClient } from './clients/secrets-manager';
import { createStsClient } from './clients/sts';
import { type Env, regionFrom } from './endpoints';
import { CachedRead, readSecretString } from './secrets';
import { shared } from './shared-clients';

/**
 * Clients for the accounts config names (accounts.<name>), each with the credentials of a session on
 * that account's role: sts:AssumeRole by the function's own role, named after the operation it serves
 * (a deployment, backup or restore id) and carrying who asked, so that the member account's CloudTrail
 * tells which operation and which person made each call. Sessions are cached per account, role and
 * identity, and renewed before they expire; the control plane's own account keeps the function's own
 * credentials, as every other client has them.
 */

export interface AccountRole {
  roleArn: string;
  externalIdSecret?: string | undefined;
}

/** Where a resource lives: an account config names, and a region; absent, the control plane's own. */
export interface Place {
  account?: string | undefined;
  region?: string | undefined;
}

/** The operation a session serves, and who asked for it. */
export interface Operation {
  /** The deployment, backup or restore id: the session's name. */
  id: string;
  /** The principal's name: the session's source identity. */
  principal: string;
  app?: string | undefined;
  environment?: string | undefined;
}

/** A factory of lib/aws/clients/. */
export type ClientFactory<T> = (env?: Env, credentials?: Credentials) => T;

interface Dependencies {
  /** The control plane's own STS and Secrets Manager, with the function's own credentials. */
  sts: STSClient;
  secrets: SecretsManagerClient;
  env?: Env;
  now?: () => number;
}

// RoleSessionName and SourceIdentity: 2 to 64 characters of letters, digits and _+=,.@- (STS API
// Reference, AssumeRole); anything else an id or a name holds becomes a dash.
const NAME_MIN = 2;
const NAME_MAX = 64;
export function stsName(text: string): string {
  return text
    .replace(/[^\w+=,.@-]/g, '-')
    .slice(0, NAME_MAX)
    .padEnd(NAME_MIN, '-');
}

// Session tag values: at most 256 letters, digits, spaces and _.:/=+-@ (STS API Reference, Tag).
const tagValue = (text: string) => text.replace(/[^\p{L}\p{Z}\p{N}_.:/=+\-@]/gu, '-').slice(0, 256);

// ExternalId: 2 to 1224 characters of letters, digits and _+=,.@:/- (STS API Reference, AssumeRole). Checked
// before the call, because STS's validation error would quote the value.
const EXTERNAL_ID = /^[\w+=,.@:/-]{2,1224}$/;

// DurationSeconds: STS's default, and the longest every role allows (a role's maximum session duration is
// 1 to 12 hours: STS API Reference, AssumeRole); asking for more than the role's maximum fails.
const SESSION_SECONDS = 3_600;

/**
 * Renewed this long before they expire. The SDK takes credentials within 5 minutes of expiry as expired
 * and asks for them again (@smithy/core, memoizeIdentityProvider's EXPIRATION_MS): credentials handed out
 * with less left would be asked for on every request, and a request retried with back-off could be signed
 * with credentials that expire in flight. Twice the SDK's margin leaves room for both.
 */
export const REFRESH_BEFORE_EXPIRY_MS = 10 * 60_000;

// An external id is read again after this long, so a rotated one is taken up without a redeploy.
const EXTERNAL_ID_MAX_AGE_SECONDS = 300;

interface Session {
  key: string;
  account: string;
  role: AccountRole;
  input: AssumeRoleCommandInput;
}

interface Held {
  usedAt: number;
  credentials?: AwsCredentialIdentity & { expiration: Date };
  assuming?: Promise<AwsCredentialIdentity>;
  clients: Map<ClientFactory<object>, Map<string, object>>;
}

const errorName = (error: unknown) => (error as { name?: string } | undefined)?.name ?? 'Error';

export class AccountCredentials {
  private readonly sessions = new Map<string, Held>();
  private readonly externalIds = new Map<string, CachedRead<string>>();
  private readonly env: Env;
  private readonly now: () => number;

  constructor(
    private readonly roles: Record<string, AccountRole>,
    private readonly deps: Dependencies,
  ) {
    this.env = deps.env ?? process.env;
    this.now = deps.now ?? Date.now;
  }

  /**
   * A client of `create` for `place`: the shared one with the function's own credentials in the control
   * plane's account, or one with the credentials of the operation's session on the account's role.
   */
  client<T extends object>(create: ClientFactory<T>, place: Place, operation: Operation): T {
    const region = place.region ?? regionFrom(this.env);
    if (place.account === undefined) return shared(create, region);
    const session = this.sessionOf(place.account, operation);
    const held = this.held(session.key);
    let byRegion = held.clients.get(create);
    if (!byRegion) {
      byRegion = new Map();
      held.clients.set(create, byRegion);
    }
    let client = byRegion.get(region) as T | undefined;
    if (!client) {
      client = create({ ...this.env, AWS_REGION: region }, () => this.sessionCredentials(session));
      byRegion.set(region, client);
    }
    return client;
  }

  /** The credentials of the operation's session on the account's role, assumed once however many ask at once. */
  credentials(account: string, operation: Operation): Promise<AwsCredentialIdentity> {
    return this.sessionCredentials(this.sessionOf(account, operation));
  }

  private sessionOf(account: string, operation: Operation): Session {
    const role = this.roles[account];
    if (!role) throw new ConfigError(`account ${account} is not one config names under accounts`);
    const tags = [
      ...(operation.app === undefined ? [] : [{ Key: 'slipway:app', Value: tagValue(operation.app) }]),
      ...(operation.environment === undefined
        ? []
        : [{ Key: 'slipway:environment', Value: tagValue(operation.environment) }]),
    ];
    const input: AssumeRoleCommandInput = {
      RoleArn: role.roleArn,
      RoleSessionName: stsName(operation.id),
      SourceIdentity: stsName(operation.principal),
      DurationSeconds: SESSION_SECONDS,
      // Session tags, none transitive: a session the member role chains into does not carry them (STS API Reference, TransitiveTagKeys).
      ...(tags.length > 0 ? { Tags: tags } : {}),
    };
    const key = JSON.stringify([account, role.roleArn, input.RoleSessionName, input.SourceIdentity, tags]);
    return { key, account, role, input };
  }

  /**
   * A session's entry. Those unused for a session's length, and that nobody is assuming, are dropped on the
   * way: their credentials have expired, or they never had any (a refusal), and a long-lived container
   * serves many operations.
   */
  private held(key: string): Held {
    const now = this.now();
    for (const [other, held] of this.sessions) {
      if (other !== key && !held.assuming && now - held.usedAt >= SESSION_SECONDS * 1_000) this.sessions.delete(other);
    }
    let held = this.sessions.get(key);
    if (!held) {
      held = { usedAt: now, clients: new Map() };
      this.sessions.set(key, held);
    }
    held.usedAt = now;
    return held;
  }

  private sessionCredentials(session: Session): Promise<AwsCredentialIdentity> {
    const held = this.held(session.key);
    const fresh = held.credentials;
    if (fresh && fresh.expiration.getTime() - REFRESH_BEFORE_EXPIRY_MS > this.now()) return Promise.resolve(fresh);
    if (!held.assuming) {
      held.assuming = this.assume(session)
        .then((credentials) => {
          held.credentials = credentials;
          return credentials;
        })
        .finally(() => {
          held.assuming = undefined;
        });
    }
    return held.assuming;
  }

  private async assume(session: Session): Promise<AwsCredentialIdentity & { expiration: Date }> {
    const { account, role } = session;
    const externalId = role.externalIdSecret ? await this.externalId(account, role, role.externalIdSecret) : undefined;
    let answer: AssumeRoleCommandOutput;
    try {
      answer = await this.deps.sts.send(
        new AssumeRoleCommand({ ...session.input, ...(externalId ? { ExternalId: externalId } : {}) }),
      );
    } catch (error) {
      throw new AssumeRoleFailed(account, role.roleArn, `STS refused it (${errorName(error)})`, { cause: error });
    }
    const { AccessKeyId, SecretAccessKey, SessionToken, Expiration } = answer.Credentials ?? {};
    if (!AccessKeyId || !SecretAccessKey || !SessionToken || !Expiration) {
      throw new AssumeRoleFailed(account, role.roleArn, 'STS answered without credentials');
    }
    return {
      accessKeyId: AccessKeyId,
      secretAccessKey: SecretAccessKey,
      sessionToken: SessionToken,
      expiration: Expiration,
    };
  }

  private async externalId(account: string, role: AccountRole, secret: string): Promise<string> {
    let cached = this.externalIds.get(secret);
    if (!cached) {
      cached = new CachedRead<string>(EXTERNAL_ID_MAX_AGE_SECONDS);
      this.externalIds.set(secret, cached);
    }
    let value: string;
    try {
      value = await (cached.current() ??
        cached.keep(readSecretString(this.deps.secrets, secret, `the external id of account ${account}`)));
    } catch (error) {
      throw new AssumeRoleFailed(
        account,
        role.roleArn,
        `its external id cannot be read from Secrets Manager (secret ${secret})`,
        { cause: error },
      );
    }
    if (!EXTERNAL_ID.test(value)) {
      throw new AssumeRoleFailed(
        account,
        role.roleArn,
        `secret ${secret} holds no external id STS accepts (2 to 1224 letters, digits and _+=,.@:/-)`,
      );
    }
    return value;
  }
}

let containerCredentials: AccountCredentials | undefined;

/**
 * The container's one AccountCredentials, made on first use from config's accounts (one config per container,
 * read at cold start) with the control plane's own STS and Secrets Manager clients.
 */
export function sharedAccountCredentials(roles: Record<string, AccountRole>): AccountCredentials {
  containerCredentials ??= new AccountCredentials(roles, {
    sts: shared(createStsClient),
    secrets: shared(createSecretsManagerClient),
  });
  return containerCredentials;
}
