/** What `slipway --help` and `slipway <command> --help` print. */

const GLOBAL = `Global options:
  --url URL          the control plane (else SLIPWAY_URL, else the profile's url)
  --token TOKEN      an API token (else SLIPWAY_TOKEN, else the profile's token); never printed
  --profile NAME     a profile of the config file (else SLIPWAY_PROFILE, else default)
  --insecure         allow an http:// URL to a host other than this machine (the token then
                     crosses the network in clear text); without it only https:// or loopback
  --json             one JSON document on stdout, for scripts
  -h, --help         this help, or a command's
  --version          the CLI's version`;

const EXIT_CODES = `Exit codes:
  0    done
  1    the operation failed: a deployment ended FAILED, ROLLED_BACK, TIMED_OUT, CANCELLED or EXPIRED,
       a restore FAILED, --wait timed out, the server failed (5xx), or the network did
  2    usage: an unknown command or flag, a missing argument, no URL or token, an unsafe profile file
  3    the control plane refused the request (4xx): invalid input, unknown app, no permission, conflict
  130  interrupted (Ctrl-C) while following; what was started keeps running on the control plane`;

const PROFILE = `Settings:
  SLIPWAY_URL, SLIPWAY_TOKEN, SLIPWAY_PROFILE, NO_COLOR
  \${XDG_CONFIG_HOME:-~/.config}/slipway/config.json:
    {"profiles": {"default": {"url": "https://…", "token": "slw_…"}}}
  It holds a token, so it must be readable by you only (chmod 600); otherwise it is refused.`;

const WAIT = `  --wait             follow it to its end, printing each step; then a one-line verdict
  --timeout MINUTES  stop following after this long (default 60; exit 1); it keeps running`;

export const COMMAND_USAGE: Record<string, string> = {
  deploy: `usage: slipway deploy <app> <env> (--tag T | --digest sha256:…) [--reason R] [--dry-run] [--wait [--timeout M]]

Deploys an image to an environment (POST /v1/deployments). A tag is resolved to its digest once, by the
control plane. Environments with approvals wait in PENDING_APPROVAL (see slipway approve).
  --tag T            an image tag in the app's repository
  --digest D         an image digest, sha256:<64 hex digits>
  --reason R         why, recorded with the deployment
  --dry-run          show the plan (the revision and UpdateService input) and change nothing
${WAIT}`,
  status: `usage: slipway status [<app> [<env>]]

What runs where. Without arguments every app and environment with its last deployment (GET /v1/apps);
with an app, each of its environments; with both, one environment: task definition, image, digest,
task counts, last and in-flight deployment (GET /v1/apps/<app>/environments/<env>).`,
  history: `usage: slipway history <app> <env> [--limit N]

Deployments of an environment, newest first (default 20; pages are followed up to N).`,
  approve: `usage: slipway approve <deployment-id> [--wait [--timeout M]]

Approves a deployment waiting for approval; the last approval needed starts it.
${WAIT}`,
  cancel: `usage: slipway cancel <deployment-id>

Ends a deployment that is waiting for approval.`,
  rollback: `usage: slipway rollback <app> <env> [--reason R] [--dry-run] [--wait [--timeout M]]

Puts back the revision that ran before the last successful deployment of what runs now.
  --reason R         why, recorded with the deployment
  --dry-run          show the plan and change nothing
${WAIT}`,
  promote: `usage: slipway promote <app> --to <env> [--from <env>] [--reason R] [--dry-run] [--wait [--timeout M]]

Deploys to <env> the digest its source environment runs and last deployed successfully. The source is
the environment's promoteFrom unless --from names another.
  --to ENV           the environment to promote into (required)
  --from ENV         the source environment
  --reason R         why, recorded with the deployment
  --dry-run          show the plan and change nothing
${WAIT}`,
  backups: `usage: slipway backups [--database D | --volume V] [--kind K] [--status S] [--limit N]

Backups, newest first (GET /v1/backups).
  --database D       one database's snapshots, copies, exports and dumps
  --volume V         one volume's archives
  --kind K           rds-snapshot, rds-cluster-snapshot, snapshot-copy, snapshot-export, volume-archive, postgres-dump
  --status S         QUEUED, CREATING, AVAILABLE, FAILED, SKIPPED, DELETED
  --limit N          at most N (1-100, default 50)`,
  backup: `usage: slipway backup <name> [--volume | --dump]

Takes a backup now (POST /v1/backups). The name is read as the flag says:
  (no flag)          <name> is a database of the config: an RDS snapshot of it
  --dump             <name> is a database: a logical pg_dump of it into the backup bucket
  --volume           <name> is a volume of the config: an archive of it`,
  restore: `usage:
  slipway restore --database D --target-identifier X (--backup B | --point-in-time T|latest) [--wait]
  slipway restore --volume V [--backup B] [--target-path P] [--force] [--wait]
  slipway restore --database D --dump --target-database N [--backup B] [--force] [--wait]

Restores a backup (POST /v1/restores), never over what it came from:
  RDS       into a new instance or cluster named by --target-identifier (<source>-restore-…), from a snapshot or a point in time
  volume    into a directory inside the volume (default restored-<time>), the newest archive unless --backup
  dump      into another database on the same server, the newest dump unless --backup
  --force            restore over a directory that holds files, or a database that holds tables
${WAIT}`,
  audit: `usage: slipway audit [--since T] [--until T] [--limit N] [--actor A] [--decision D] [--action X]

The audit trail, oldest first (GET /v1/audit, admin token): every request that changed something,
allowed or denied, and every action Slipway took by itself, with who or what triggered it.
  --since T          from this time (ISO 8601, e.g. 2026-12-05 or 2026-12-05T09:00:00Z); default 24 hours ago
  --until T          to this time; default now
  --limit N          at most N entries (1-10000, default 100), read page by page
  --actor A          only this principal or trigger (alice, anonymous, schedule, alarm:<name>…)
  --decision D       only allowed, or only denied
  --action X         only this route or action (createRestore, backup.delete…)`,
  sandbox: `usage:
  slipway sandbox push <app> <tag>
  slipway sandbox alarm <app> <env> [--ok]

Only against a control plane started with \`npm start -- --sandbox\` (its GET /health names the sandbox),
whose ECS, ECR, RDS and alarms are simulated on that machine:
  push     adds an image tagged <tag> to the app's simulated ECR repository and delivers the
           ECR Image Action event (release policies run), then the scan's result
  alarm    moves the environment's health alarm to ALARM (--ok: back to OK) and delivers the state change
           (inside a bake window Slipway rolls the last deployment back)`,
  help: `usage: slipway help [<command>]`,
};

export const MAIN_USAGE = `usage: slipway <command> [arguments] [options]

Commands:
  deploy <app> <env> (--tag T | --digest D)   deploy an image [--reason R] [--dry-run] [--wait]
  status [<app> [<env>]]                      what runs where
  history <app> <env> [--limit N]             deployments, newest first
  approve <id> | cancel <id>                  the approval gate
  rollback <app> <env>                        back to what ran before [--wait]
  promote <app> --to <env>                    the digest of promoteFrom [--from E] [--wait]
  backups [--database D | --volume V]         backups [--kind K] [--status S] [--limit N]
  backup <name> [--volume | --dump]           take a backup now (<name> a database unless --volume)
  restore …                                   restore a backup (see slipway restore --help)
  audit [--since T] [--until T] [--limit N]   who did what, allowed or denied (admin)
  sandbox push <app> <tag> | alarm <app> <env>  a push or an alarm, under npm start -- --sandbox only

${GLOBAL}

${PROFILE}

${EXIT_CODES}`;

export function usageOf(command: string | undefined): string {
  return (command && COMMAND_USAGE[command]) || MAIN_USAGE;
}

export function commandHelp(command: string): string {
  return `${COMMAND_USAGE[command] ?? MAIN_USAGE}\n\n${GLOBAL}\n\n${EXIT_CODES}`;
}
