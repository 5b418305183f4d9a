import * as sdk from '@aws-sdk/client-rds';
import type { Sim } from '../sim';
import type { ExportTaskRecord } from '../state';
import { AwsFault, type Json } from '../wire';
import { defined } from './instances';
import { fault, identifier, inRegion, snapshotArn } from './lookup';
import { page, renderExportTask } from './render';

// Exports

export function startExportTask(sim: Sim, input: Json): Json {
  const id = identifier(input.ExportTaskIdentifier, 'ExportTaskIdentifier');
  if (sim.state.rds.exportTasks.some((each) => each.region === sim.region && each.identifier === id)) {
    throw AwsFault.of(sdk.ExportTaskAlreadyExistsFault$, `The export task with the ID ${id} already exists.`);
  }
  for (const name of ['SourceArn', 'S3BucketName', 'IamRoleArn', 'KmsKeyId'])
    if (typeof input[name] !== 'string') throw fault.missing(name);
  const source = [...sim.state.rds.snapshots].find((each) => snapshotArn(sim, each) === input.SourceArn);
  if (!source) throw fault.snapshotNotFound(String(input.SourceArn));
  if (source.status !== 'available')
    throw AwsFault.of(sdk.InvalidExportSourceStateFault$, `Snapshot ${source.identifier} is not available.`);
  const record: ExportTaskRecord = {
    region: sim.region,
    identifier: id,
    sourceArn: String(input.SourceArn),
    status: 'STARTING',
    settings: defined({
      SnapshotTime: source.capturedAt,
      S3Bucket: input.S3BucketName,
      S3Prefix: input.S3Prefix ?? '',
      IamRoleArn: input.IamRoleArn,
      KmsKeyId: input.KmsKeyId,
      ...(input.ExportOnly ? { ExportOnly: input.ExportOnly } : {}),
      SourceType: source.kind === 'cluster' ? 'CLUSTER' : 'SNAPSHOT',
    }),
    startedAt: sim.now,
    percentProgress: 0,
    nextAt: sim.now + sim.timings.exportMs / 2,
  };
  sim.state.rds.exportTasks.push(record);
  return renderExportTask(record);
}

export function describeExportTasks(sim: Sim, input: Json): Json {
  const filters = (input.Filters as Array<{ Name: string; Values: string[] }> | undefined) ?? [];
  const matching = inRegion(sim, sim.state.rds.exportTasks).filter(
    (record) =>
      (input.ExportTaskIdentifier === undefined || record.identifier === input.ExportTaskIdentifier) &&
      (input.SourceArn === undefined || record.sourceArn === input.SourceArn) &&
      filters.every((filter) => {
        if (filter.Name === 'status') return filter.Values.some((value) => value.toUpperCase() === record.status);
        if (filter.Name === 'export-task-identifier') return filter.Values.includes(record.identifier);
        if (filter.Name === 's3-bucket') return filter.Values.includes(String(record.settings.S3Bucket));
        if (filter.Name === 'source-arn') return filter.Values.includes(record.sourceArn);
        throw fault.invalid(`Unrecognized filter name: ${filter.Name}`);
      }),
  );
  if (input.ExportTaskIdentifier !== undefined && matching.length === 0) {
    throw AwsFault.of(
      sdk.ExportTaskNotFoundFault$,
      `The export task with the ID ${String(input.ExportTaskIdentifier)} is not found.`,
    );
  }
  const { items, marker } = page(matching, input);
  return { ExportTasks: items.map(renderExportTask), ...(marker ? { Marker: marker } : {}) };
}
