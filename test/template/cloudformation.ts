import { createHash } from 'node:crypto';
import type { CloudFormationTemplate } from '../support/package';

/**
 * A packaged template's values as CloudFormation would resolve them in one account and region: the
 * intrinsic functions the template uses (Ref, Fn::GetAtt, Fn::Sub, Fn::Join, Fn::If, Fn::Select,
 * Fn::Split and the condition functions) and the names CloudFormation gives resources that name
 * none. Anything else throws, so a template that grows a new intrinsic or resource type is modelled
 * before it is trusted. Return values per type: the CloudFormation User Guide's resource reference
 * ("Return values" of each resource type).
 */

export interface AwsPlace {
  partition: string;
  region: string;
  account: string;
}

/** Where the IAM proof deploys the stack: any account and region would do, these are AWS's examples. */
export const TEST_PLACE: AwsPlace = { partition: 'aws', region: 'us-east-1', account: '123456789012' };

const NO_VALUE = Symbol('AWS::NoValue');

type Template = CloudFormationTemplate & { Conditions?: Record<string, unknown> };
type Resource = Template['Resources'][string];

/** A name CloudFormation generates: `<stack>-<logical id>-<13 characters>`, stable per logical id here. */
function generatedName(stackName: string, logicalId: string, lowerCase = false): string {
  const suffix = createHash('sha256').update(logicalId).digest('hex').slice(0, 13).toUpperCase();
  const name = `${stackName}-${logicalId}-${suffix}`;
  return lowerCase ? name.toLowerCase() : name;
}

/** A key id of the UUID form KMS gives, stable per logical id here. */
function keyId(logicalId: string): string {
  const hex = createHash('sha256').update(logicalId).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** The property that names a resource of each type, where the template may give one. */
const NAME_PROPERTIES: Record<string, string> = {
  'AWS::DynamoDB::Table': 'TableName',
  'AWS::S3::Bucket': 'BucketName',
  'AWS::SNS::Topic': 'TopicName',
  'AWS::SQS::Queue': 'QueueName',
  'AWS::IAM::Role': 'RoleName',
  'AWS::ECS::Cluster': 'ClusterName',
  'AWS::ECS::TaskDefinition': 'Family',
  'AWS::Logs::LogGroup': 'LogGroupName',
  'AWS::Lambda::Function': 'FunctionName',
};

export interface TemplateValues {
  /** A template value with every intrinsic function resolved; AWS::NoValue entries are dropped. */
  resolve(value: unknown): unknown;
  /** A string value, resolved; throws when it is not one. */
  text(value: unknown): string;
  condition(name: string): boolean;
  resource(logicalId: string): Resource;
}

export function templateValues(template: Template, place: AwsPlace, stackName: string): TemplateValues {
  const { partition, region, account } = place;
  const pseudo: Record<string, string> = {
    'AWS::Partition': partition,
    'AWS::Region': region,
    'AWS::AccountId': account,
    'AWS::StackName': stackName,
    'AWS::URLSuffix': 'amazonaws.com',
  };

  const resource = (logicalId: string): Resource => {
    const found = template.Resources[logicalId];
    if (!found) throw new Error(`the template has no resource ${logicalId}`);
    return found;
  };
  const property = (logicalId: string, name: string): string | undefined => {
    const value = resource(logicalId).Properties?.[name];
    return value === undefined ? undefined : text(value);
  };

  /** The name a resource has: the one its properties give, else the one CloudFormation generates. */
  function physicalName(logicalId: string): string {
    const { Type } = resource(logicalId);
    if (Type === 'AWS::KMS::Key') return keyId(logicalId);
    const nameProperty = NAME_PROPERTIES[Type];
    if (!nameProperty) throw new Error(`${logicalId}: no physical name modelled for ${Type}`);
    // Bucket names are lowercase.
    return property(logicalId, nameProperty) ?? generatedName(stackName, logicalId, Type === 'AWS::S3::Bucket');
  }

  function arnOf(logicalId: string): string {
    const { Type } = resource(logicalId);
    const name = physicalName(logicalId);
    switch (Type) {
      case 'AWS::DynamoDB::Table':
        return `arn:${partition}:dynamodb:${region}:${account}:table/${name}`;
      case 'AWS::S3::Bucket':
        return `arn:${partition}:s3:::${name}`;
      case 'AWS::SNS::Topic':
        return `arn:${partition}:sns:${region}:${account}:${name}`;
      case 'AWS::SQS::Queue':
        return `arn:${partition}:sqs:${region}:${account}:${name}`;
      case 'AWS::IAM::Role': {
        const path = property(logicalId, 'Path') ?? '/';
        return `arn:${partition}:iam::${account}:role${path}${name}`;
      }
      case 'AWS::ECS::Cluster':
        return `arn:${partition}:ecs:${region}:${account}:cluster/${name}`;
      case 'AWS::ECS::TaskDefinition':
        return `arn:${partition}:ecs:${region}:${account}:task-definition/${name}:1`;
      case 'AWS::Logs::LogGroup':
        return `arn:${partition}:logs:${region}:${account}:log-group:${name}:*`;
      case 'AWS::Lambda::Function':
        return `arn:${partition}:lambda:${region}:${account}:function:${name}`;
      case 'AWS::KMS::Key':
        return `arn:${partition}:kms:${region}:${account}:key/${name}`;
      default:
        throw new Error(`${logicalId}: no ARN modelled for ${Type}`);
    }
  }

  function ref(name: string): string | typeof NO_VALUE {
    if (name === 'AWS::NoValue') return NO_VALUE;
    const value = pseudo[name];
    if (value !== undefined) return value;
    const { Type } = resource(name);
    switch (Type) {
      // Ref gives the ARN of these.
      case 'AWS::SNS::Topic':
      case 'AWS::ECS::TaskDefinition':
        return arnOf(name);
      case 'AWS::SQS::Queue':
        return `https://sqs.${region}.amazonaws.com/${account}/${physicalName(name)}`;
      default:
        return physicalName(name);
    }
  }

  function getAtt(logicalId: string, attribute: string): string {
    const { Type } = resource(logicalId);
    if (attribute === 'Arn') return arnOf(logicalId);
    if (Type === 'AWS::SQS::Queue' && attribute === 'QueueName') return physicalName(logicalId);
    if (Type === 'AWS::KMS::Key' && attribute === 'KeyId') return physicalName(logicalId);
    throw new Error(`${logicalId}: no ${attribute} modelled for ${Type}`);
  }

  function sub(pattern: string, variables: Record<string, unknown>): string {
    return pattern.replace(/\$\{([^}]+)\}/g, (whole, name: string) => {
      if (name.startsWith('!')) return `\${${name.slice(1)}}`;
      if (name in variables) return text(variables[name]);
      if (name in pseudo) return pseudo[name] as string;
      const [logicalId, attribute] = name.split('.');
      if (attribute && logicalId) return getAtt(logicalId, attribute);
      if (logicalId && template.Resources[logicalId]) return text({ Ref: logicalId });
      throw new Error(`Fn::Sub names ${whole}, which is neither a variable, a parameter nor a resource`);
    });
  }

  const conditions = new Map<string, boolean>();
  function condition(name: string): boolean {
    const known = conditions.get(name);
    if (known !== undefined) return known;
    const definition = template.Conditions?.[name];
    if (definition === undefined) throw new Error(`the template has no condition ${name}`);
    const value = evaluate(definition);
    conditions.set(name, value);
    return value;
  }

  function evaluate(value: unknown): boolean {
    const [[fn, args] = []] = Object.entries(value as Record<string, unknown>);
    const list = args as unknown[];
    switch (fn) {
      case 'Fn::Equals':
        return JSON.stringify(resolve(list[0])) === JSON.stringify(resolve(list[1]));
      case 'Fn::Not':
        return !evaluate(list[0]);
      case 'Fn::And':
        return list.every(evaluate);
      case 'Fn::Or':
        return list.some(evaluate);
      case 'Condition':
        return condition(args as string);
      default:
        throw new Error(`no condition function ${fn} modelled`);
    }
  }

  function intrinsic(fn: string, args: unknown): unknown {
    switch (fn) {
      case 'Ref':
        return ref(args as string);
      case 'Fn::GetAtt': {
        const [logicalId, attribute] = (typeof args === 'string' ? args.split('.') : args) as [string, string];
        return getAtt(logicalId, attribute);
      }
      case 'Fn::Sub':
        return typeof args === 'string'
          ? sub(args, {})
          : sub((args as [string, Record<string, unknown>])[0], (args as [string, Record<string, unknown>])[1]);
      case 'Fn::Join': {
        const [separator, parts] = args as [string, unknown[]];
        return (resolve(parts) as unknown[]).map((part) => text(part)).join(separator);
      }
      case 'Fn::If': {
        const [name, whenTrue, whenFalse] = args as [string, unknown, unknown];
        return resolveValue(condition(name) ? whenTrue : whenFalse);
      }
      case 'Fn::Select': {
        const [index, values] = args as [unknown, unknown];
        return (resolve(values) as unknown[])[Number(resolve(index))];
      }
      case 'Fn::Split': {
        const [separator, value] = args as [string, unknown];
        return text(value).split(separator);
      }
      default:
        throw new Error(`no intrinsic function ${fn} modelled`);
    }
  }

  function resolveValue(value: unknown): unknown {
    if (Array.isArray(value)) return value.map(resolveValue).filter((item) => item !== NO_VALUE);
    if (value === null || typeof value !== 'object') return value;
    const entries = Object.entries(value);
    const [first] = entries;
    if (entries.length === 1 && first && (first[0] === 'Ref' || first[0].startsWith('Fn::'))) {
      return intrinsic(first[0], first[1]);
    }
    return Object.fromEntries(
      entries.map(([key, item]) => [key, resolveValue(item)]).filter(([, item]) => item !== NO_VALUE),
    );
  }

  function resolve(value: unknown): unknown {
    const resolved = resolveValue(value);
    if (resolved === NO_VALUE) throw new Error('AWS::NoValue where a value is needed');
    return resolved;
  }

  function text(value: unknown): string {
    const resolved = resolve(value);
    if (typeof resolved !== 'string' && typeof resolved !== 'number' && typeof resolved !== 'boolean') {
      throw new Error(`expected a string, resolved ${JSON.stringify(resolved)}`);
    }
    return String(resolved);
  }

  return { resolve, text, condition, resource };
}
