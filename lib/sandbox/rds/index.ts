/**
 * Amazon RDS as Slipway uses it: instances and clusters in DB subnet groups, manual snapshots and their
 * copies, exports, restores from snapshots and to points in time, and the scratch instances drills
 * delete. Answers follow the RDS API Reference of each operation; states follow "Viewing Amazon RDS DB
 * instance status" and the snapshot pages of the RDS User Guide; events are those of "Amazon RDS event
 * categories and event messages", sent when the state they report is reached.
 */
export { advanceRds, nextRdsChange } from './advance';
export { RDS_XML_NAMESPACE, rdsOperations } from './operations';
