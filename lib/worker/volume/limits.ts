// Sizes and counts that bound a backup's or a restore's memory and set its pace

export const MiB = 1024 * 1024;
export const MIN_PART_SIZE = 8 * MiB;
// S3's ceiling for one part; a tree needing more would be over 40 TiB.
export const MAX_PART_SIZE = 5 * 1024 * MiB;
// S3 allows 10,000 parts; sizing for 9,000 leaves room for files that grow between the two walks.
export const PART_BUDGET = 9_000;
// Two parts in flight keep the upload ahead of one compressor; each more is a part size of RSS.
export const QUEUE_SIZE = 2;
// Large reads and large zlib chunks: every chunk is a thread-pool round trip, and a round trip
// waits for the main thread, so fewer of them keep the compressor busy.
export const READ_CHUNK = MiB;
export const CODEC_CHUNK = MiB;
// Files up to this size are read (backup) or written (restore) whole, several at a time: on small
// files the cost is fs round trips, not bytes, and doing them one after another leaves the CPU idle.
export const SMALL_FILE = 256 * 1024;
export const FILES_IN_FLIGHT = 32;
export const LSTAT_BATCH = 64;
export const COMPRESSOR_BATCH = MiB;
// Lets the walk read ahead while the compressor works through a large file, and the reverse.
export const METER_BUFFER = 4 * MiB;
export const GZIP_LEVEL = 6;
export const LISTED_PATHS = 100;
// How far the tree walk may run ahead of the compressor; headers alone add no backpressure in tar-stream.
export const MAX_AHEAD = 4 * MiB;
export const TAR_BLOCK = 512;
// How long the copy of a SQLite database waits for a writer's lock (rollback-journal mode) before it fails.
export const SQLITE_BUSY_TIMEOUT_MS = 60_000;
// What an error keeps of sqlite3's output: integrity_check lists up to 100 problems.
export const SQLITE_OUTPUT_LIMIT = 2_000;
