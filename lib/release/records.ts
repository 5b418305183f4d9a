// What an image scan counts, as plain data: what a release policy's maxFindings names, and what a waiting
// release keeps (lib/store/releases.ts).

/** The severities ECR basic scanning and Amazon Inspector give findings. */
export const SCAN_SEVERITIES = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'INFORMATIONAL', 'UNDEFINED'] as const;
export type Severity = (typeof SCAN_SEVERITIES)[number];
export type ScanCounts = Partial<Record<Severity, number>>;
