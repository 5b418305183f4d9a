/** A CloudFormation logical id from readable parts: `HealthAlarm`, `shop`, `prod-db` → `HealthAlarmShopProdDb`. */
export function logicalId(...parts: string[]): string {
  return parts
    .join('-')
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((part) => part[0]?.toUpperCase() + part.slice(1))
    .join('');
}

export type CloudFormationResource = { Type: string; Properties: Record<string, unknown> };
