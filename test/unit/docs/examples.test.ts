import { readFileSync } from 'node:fs';
import type { RegisterTaskDefinitionCommandInput } from '@aws-sdk/client-ecs';
import { loadConfigFile } from '../../../lib/config/load';
import { findSecretLikeValues } from '../../../lib/config/secret-scan';
import {
  asCopiedToConfig,
  exampleConfigPath,
  examplesWithConfig,
  exampleTaskDefinition,
  exampleTaskDefinitionFiles,
} from '../../support/examples';

/**
 * The files of each worked example agree with each other, as a team copying them needs: the config loads, every
 * container a deployment changes is in one of the task definitions, the roles those name are the ones the config
 * lets Slipway pass, and the task definitions hold secrets only as Secrets Manager references.
 */

const examples = examplesWithConfig();

describe.each(examples)('the example %s', (example) => {
  const config = loadConfigFile(exampleConfigPath(example));
  const files = exampleTaskDefinitionFiles(example);
  const definitions = (environment: string) =>
    files.map((file) => exampleTaskDefinition(example, file, {}, environment));

  it('points editors at the schema, from examples/ and once copied to config/', () => {
    const text = readFileSync(exampleConfigPath(example), 'utf8');

    expect(text.split('\n')[0]).toBe('# yaml-language-server: $schema=../../config/schema.json');
    expect(asCopiedToConfig(text).split('\n')[0]).toBe('# yaml-language-server: $schema=./schema.json');
  });

  it('has task definitions with every container its apps deploy', () => {
    const containers = definitions('production').flatMap((definition) =>
      (definition.containerDefinitions ?? []).map((container) => container.name),
    );

    for (const app of Object.values(config.apps)) expect(containers).toEqual(expect.arrayContaining(app.containers));
  });

  it("names in each environment's task definition only roles that environment's passRoles lists", () => {
    for (const app of Object.values(config.apps)) {
      for (const [name, environment] of Object.entries(app.environments)) {
        const own = definitions(name).filter((definition) =>
          (definition.containerDefinitions ?? []).some((container) => app.containers.includes(container.name ?? '')),
        );
        const roles = own.flatMap((definition: RegisterTaskDefinitionCommandInput) =>
          [definition.taskRoleArn, definition.executionRoleArn].filter((role): role is string => Boolean(role)),
        );

        expect(roles.length).toBeGreaterThan(0);
        expect(environment.passRoles).toEqual(expect.arrayContaining(roles));
      }
    }
  });

  it('holds no secret value: secrets are Secrets Manager references by valueFrom', () => {
    for (const definition of definitions('production')) {
      expect(findSecretLikeValues(definition)).toEqual([]);
      for (const container of definition.containerDefinitions ?? []) {
        for (const secret of container.secrets ?? []) {
          expect(secret.valueFrom).toMatch(/^arn:aws:secretsmanager:[a-z0-9-]+:\d{12}:secret:/);
        }
      }
    }
  });
});
