/** What the member template's parts write alike: CloudFormation values of the account the stack is deployed in. */

export const unique = <T>(values: T[]): T[] => [
  ...new Map(values.map((value) => [JSON.stringify(value), value])).values(),
];
export const sub = (text: string) => ({ 'Fn::Sub': text });
/** An ARN of the stack's own account, in `region`. */
export const inAccount = (service: string, region: string, resource: string) =>
  sub(`arn:\${AWS::Partition}:${service}:${region}:\${AWS::AccountId}:${resource}`);
/** A logical id's part made of a region or a rule's name: eu-west-1 → EuWest1. */
export const camel = (text: string) =>
  text
    .split(/[^A-Za-z0-9]/)
    .filter(Boolean)
    .map((part) => `${part.charAt(0).toUpperCase()}${part.slice(1)}`)
    .join('');
