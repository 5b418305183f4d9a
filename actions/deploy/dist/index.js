// Built by packages/cli/build.mjs --action from packages/cli/src/action; do not edit.

// src/action/main.ts
import { appendFileSync } from "node:fs";

// src/api.ts
var IN_FLIGHT_STATES = ["PENDING_APPROVAL", "IN_PROGRESS"];
var DEPLOYMENT_FAILURES = [
  "FAILED",
  "ROLLED_BACK",
  "TIMED_OUT",
  "CANCELLED",
  "EXPIRED"
];

// ../../lib/net/addresses.ts
import { BlockList, isIP } from "node:net";
var RANGES = [
  // 0.0.0.0/8 "this network": a connection to 0.0.0.0 reaches this machine on Linux.
  ["unspecified", "0.0.0.0", 8, "ipv4"],
  ["loopback", "127.0.0.0", 8, "ipv4"],
  ["private", "10.0.0.0", 8, "ipv4"],
  ["private", "172.16.0.0", 12, "ipv4"],
  ["private", "192.168.0.0", 16, "ipv4"],
  // Shared address space (RFC 6598): carrier NAT, and some VPC setups.
  ["private", "100.64.0.0", 10, "ipv4"],
  ["link-local", "169.254.0.0", 16, "ipv4"],
  ["reserved", "192.0.0.0", 24, "ipv4"],
  ["reserved", "198.18.0.0", 15, "ipv4"],
  ["reserved", "224.0.0.0", 4, "ipv4"],
  ["reserved", "240.0.0.0", 4, "ipv4"],
  ["unspecified", "::", 128, "ipv6"],
  ["loopback", "::1", 128, "ipv6"],
  ["private", "fc00::", 7, "ipv6"],
  ["link-local", "fe80::", 10, "ipv6"],
  ["reserved", "ff00::", 8, "ipv6"],
  ["reserved", "100::", 64, "ipv6"]
];
var LISTS = /* @__PURE__ */ new Map();
for (const [kind, network, prefix, family] of RANGES) {
  const list = LISTS.get(kind) ?? new BlockList();
  list.addSubnet(network, prefix, family);
  LISTS.set(kind, list);
}
function groupsOf(address) {
  let text = address.toLowerCase();
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number);
    text = `${text.slice(0, dotted.index)}${(a << 8 | b).toString(16)}:${(c << 8 | d).toString(16)}`;
  }
  const [head = "", tail] = text.split("::");
  const part = (piece) => piece === "" ? [] : piece.split(":").map((group) => Number.parseInt(group, 16));
  const front = part(head);
  const back = tail === void 0 ? [] : part(tail);
  return [...front, ...new Array(8 - front.length - back.length).fill(0), ...back];
}
function embeddedIpv4(address) {
  const groups = groupsOf(address);
  const ipv4 = (high, low) => `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
  const zeros = (from, to) => groups.slice(from, to).every((group) => group === 0);
  if (zeros(0, 5) && groups[5] === 65535) return ipv4(groups[6] ?? 0, groups[7] ?? 0);
  if (groups[0] === 100 && groups[1] === 65435 && zeros(2, 6)) return ipv4(groups[6] ?? 0, groups[7] ?? 0);
  if (groups[0] === 8194) return ipv4(groups[1] ?? 0, groups[2] ?? 0);
  return void 0;
}
function addressKind(address) {
  const family = isIP(address);
  if (family === 0) return void 0;
  if (family === 6) {
    const ipv4 = embeddedIpv4(address);
    if (ipv4 !== void 0) return addressKind(ipv4);
  }
  const type = family === 4 ? "ipv4" : "ipv6";
  for (const [kind, list] of LISTS) if (list.check(address, type)) return kind;
  return "public";
}
function isLoopbackHost(hostname) {
  const host = hostname.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  return host === "localhost" || addressKind(host) === "loopback";
}

// src/errors.ts
import { STATUS_CODES } from "node:http";
var EXIT = { ok: 0, failed: 1, usage: 2, refused: 3, interrupted: 130 };
var CliError = class extends Error {
  constructor(message, exitCode, options) {
    super(message, options);
    this.exitCode = exitCode;
    this.name = new.target.name;
  }
};
var SetupError = class extends CliError {
  constructor(message) {
    super(message, EXIT.usage);
  }
};
var ApiError = class extends CliError {
  constructor(status, serverMessage, code, details) {
    super(apiErrorText(status, serverMessage, details), status >= 400 && status < 500 ? EXIT.refused : EXIT.failed);
    this.status = status;
    this.serverMessage = serverMessage;
    this.code = code;
    this.details = details;
  }
};
var NetworkError = class extends CliError {
  constructor(message, options) {
    super(message, EXIT.failed, options);
  }
};
function statusText(status) {
  return STATUS_CODES[status] ?? "Unknown Status";
}
function detailFields(details) {
  const items = Array.isArray(details) ? details : details && typeof details === "object" ? [details] : [];
  const fields = [];
  for (const item of items) {
    if (!item || typeof item !== "object") continue;
    const { field, location } = item;
    if (typeof field !== "string" || field === "") continue;
    const named = typeof location === "string" && location !== "" ? `${location}.${field}` : field;
    if (!fields.includes(named)) fields.push(named);
  }
  return fields;
}
function apiErrorText(status, message, details) {
  const missing = detailFields(details).filter((field) => !message.includes(field));
  const fields = missing.length > 0 ? ` (${missing.length === 1 ? "field" : "fields"} ${missing.join(", ")})` : "";
  return `${status} ${statusText(status)}: ${oneLine(message)}${fields}`;
}
function oneLine(text) {
  return text.replace(/\s+/g, " ").trim();
}
var TOKEN_PATTERN = /slw_[A-Za-z0-9_-]+/g;
function redact(text, secrets = []) {
  let out = text;
  for (const secret of secrets) if (secret.length >= 8) out = out.split(secret).join("***");
  return out.replace(TOKEN_PATTERN, "slw_***");
}

// src/format.ts
var ANSI = { bold: 1, dim: 2, red: 31, green: 32, yellow: 33 };
function paint(style, colour, text) {
  return style.colour ? `\x1B[${ANSI[colour]}m${text}\x1B[0m` : text;
}
var STATE_COLOURS = {
  SUCCEEDED: "green",
  AVAILABLE: "green",
  FAILED: "red",
  ROLLED_BACK: "red",
  TIMED_OUT: "red",
  CANCELLED: "dim",
  EXPIRED: "dim",
  SKIPPED: "dim",
  DELETED: "dim",
  PENDING_APPROVAL: "yellow",
  IN_PROGRESS: "yellow",
  QUEUED: "yellow",
  CREATING: "yellow",
  RESTORING: "yellow"
};
function state(style, value) {
  const colour = STATE_COLOURS[value];
  return colour ? paint(style, colour, value) : value;
}
function time(iso) {
  if (!iso) return "-";
  return iso.replace(/\.\d+Z$/, "Z");
}
function shortDigest(digest) {
  if (!digest) return "-";
  return digest.startsWith("sha256:") ? digest.slice(0, 19) : digest;
}
function taskDefinitionName(arn) {
  if (!arn) return "-";
  return arn.slice(arn.lastIndexOf("/") + 1);
}
function duration(ms) {
  const seconds = Math.max(0, Math.round(ms / 1e3));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(seconds % 60).padStart(2, "0")}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, "0")}m`;
}
function timelineLine(style, entry) {
  const note = entry.note ? ` ${entry.note}` : "";
  const by = entry.by ? ` (by ${entry.by})` : "";
  return `${time(entry.at)} ${state(style, entry.state)}${note}${by}`;
}
function target(record) {
  if (record.to.digest) {
    const digest = shortDigest(record.to.digest);
    return record.to.tag ? `${record.to.tag} (${digest})` : digest;
  }
  if (record.to.desiredCount !== void 0) return `${record.to.desiredCount} tasks`;
  if (record.to.forceNewDeployment) return "new tasks";
  return taskDefinitionName(record.to.taskDefinitionArn);
}
function deploymentHeadline(style, record) {
  return `Deployment ${record.id}: ${record.kind} ${record.app}/${record.environment} \u2192 ${target(record)}, ${state(style, record.state)}`;
}
function endReason(record) {
  return record.failure?.reason ?? record.timeline.at(-1)?.note;
}
function deploymentVerdict(style, record) {
  const took = duration(Date.parse(record.updatedAt) - Date.parse(record.createdAt));
  const head = `Deployment ${record.id} ${state(style, record.state)} after ${took}`;
  if (record.state === "SUCCEEDED") {
    return `${head}: ${record.app}/${record.environment} runs ${target(record)}`;
  }
  const reason = endReason(record);
  return reason ? `${head}: ${reason}` : head;
}

// src/requests.ts
var segment = encodeURIComponent;
var environmentPath = (app, environment) => `/v1/apps/${segment(app)}/environments/${segment(environment)}`;
function operation(command) {
  return {
    ...command.reason !== void 0 ? { reason: command.reason } : {},
    ...command.dryRun ? { dryRun: true } : {}
  };
}
function requestFor(command) {
  switch (command.name) {
    case "deploy":
      return {
        method: "POST",
        path: "/v1/deployments",
        body: {
          app: command.app,
          environment: command.environment,
          ...command.tag !== void 0 ? { tag: command.tag } : {},
          ...command.digest !== void 0 ? { digest: command.digest } : {},
          ...operation(command)
        }
      };
    case "status":
      return command.app !== void 0 && command.environment !== void 0 ? { method: "GET", path: environmentPath(command.app, command.environment) } : { method: "GET", path: "/v1/apps" };
    case "history":
      return {
        method: "GET",
        path: `${environmentPath(command.app, command.environment)}/deployments`,
        query: { limit: String(Math.min(command.limit, 100)) }
      };
    case "approve":
    case "cancel":
      return { method: "POST", path: `/v1/deployments/${segment(command.id)}/${command.name}` };
    case "rollback":
      return {
        method: "POST",
        path: `${environmentPath(command.app, command.environment)}/rollback`,
        body: operation(command)
      };
    case "promote":
      return {
        method: "POST",
        path: `${environmentPath(command.app, command.environment)}/promote`,
        body: { ...command.from !== void 0 ? { from: command.from } : {}, ...operation(command) }
      };
    case "backups": {
      const query = {};
      for (const key of ["database", "volume", "kind", "status"]) {
        const value = command[key];
        if (value !== void 0) query[key] = value;
      }
      if (command.limit !== void 0) query.limit = String(command.limit);
      return { method: "GET", path: "/v1/backups", query };
    }
    case "backup":
      return {
        method: "POST",
        path: "/v1/backups",
        body: command.target === "volume" ? { volume: command.subject } : command.target === "dump" ? { database: command.subject, kind: "postgres-dump" } : { database: command.subject }
      };
    case "restore":
      return { method: "POST", path: "/v1/restores", body: { ...command.body } };
    case "audit": {
      const query = {};
      if (command.since !== void 0) query.since = command.since;
      if (command.until !== void 0) query.until = command.until;
      Object.assign(query, command.filter);
      return { method: "GET", path: "/v1/audit", query };
    }
    case "sandbox-push":
    case "sandbox-alarm":
      return { method: "GET", path: "/health" };
  }
}

// src/wait.ts
var DEFAULT_TIMEOUT_MINUTES = 60;
function timeoutMinutesOf(text) {
  const minutes = Number(text);
  return /^\d+(\.\d+)?$/.test(text) && minutes > 0 ? minutes : void 0;
}
var FIRST_DELAY_MS = 2e3;
var MAX_DELAY_MS = 1e4;
var GROWTH = 1.5;
var MAX_FAILED_POLLS = 5;
function nextDelay(previousMs, changed) {
  if (changed) return FIRST_DELAY_MS;
  return Math.min(MAX_DELAY_MS, Math.round(previousMs * GROWTH));
}
var realClock = {
  now: () => Date.now(),
  sleep: (ms, signal) => new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  })
};
function plainProgress(write) {
  return { line: (text) => write(`${text}
`), status: () => void 0, stop: () => void 0 };
}
function transient(error) {
  return error instanceof NetworkError || error instanceof ApiError && error.status >= 500;
}
async function follow(initial, spec, options) {
  const { clock, progress, signal } = options;
  const deadline = clock.now() + options.timeoutMs;
  let record = initial;
  let delay = FIRST_DELAY_MS;
  let failures = 0;
  const show = (previous, current) => {
    const lines = spec.news(previous, current);
    for (const line of lines) progress.line(line);
    progress.status(spec.status(current));
    return lines.length > 0;
  };
  try {
    show(void 0, record);
    while (!spec.done(record)) {
      const remaining = deadline - clock.now();
      if (remaining <= 0) return { kind: "timeout", record };
      await clock.sleep(Math.min(delay, remaining), signal);
      if (signal.aborted) return { kind: "interrupted", record };
      let current;
      try {
        current = await spec.poll(signal);
      } catch (error) {
        if (signal.aborted) return { kind: "interrupted", record };
        failures += 1;
        if (!transient(error) || failures >= MAX_FAILED_POLLS) throw error;
        delay = nextDelay(delay, false);
        continue;
      }
      failures = 0;
      const changed = show(record, current);
      record = current;
      delay = nextDelay(delay, changed);
    }
    return { kind: "done", record };
  } finally {
    progress.stop();
  }
}

// src/commands.ts
function deploymentFollowing(client, id, style) {
  return {
    poll: async (signal) => (await client.send(
      { method: "GET", path: `/v1/deployments/${encodeURIComponent(id)}` },
      signal
    )).deployment,
    news: (previous, current) => current.timeline.slice(previous?.timeline.length ?? 0).map((entry) => timelineLine(style, entry)),
    done: (record) => !IN_FLIGHT_STATES.includes(record.state),
    status: (record) => `${record.state} ${record.app}/${record.environment}`
  };
}

// src/http.ts
var REQUEST_TIMEOUT_MS = 3e4;
function causeCode(error) {
  let current = error;
  let found;
  for (let depth = 0; current && depth < 5; depth += 1) {
    if (typeof current.code === "string") found = current.code;
    if (current.cause && typeof current.cause === "object" && !(current.cause instanceof AggregateError)) {
      current = current.cause;
      continue;
    }
    if (current.cause instanceof AggregateError) {
      current = current.cause.errors[0];
      continue;
    }
    break;
  }
  return found;
}
function networkReason(error, urlSource, timeoutMs) {
  const name = error?.name;
  if (name === "TimeoutError") return `no answer within ${Math.round(timeoutMs / 1e3)} s (timed out)`;
  const code = causeCode(error);
  switch (code) {
    case "ECONNREFUSED":
      return `connection refused (is the control plane running? the URL comes from ${urlSource})`;
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return `host not found (${code}; check the URL from ${urlSource})`;
    case "ECONNRESET":
    case "EPIPE":
    case "UND_ERR_SOCKET":
      return "the connection was closed before an answer came";
    case "ETIMEDOUT":
    case "UND_ERR_CONNECT_TIMEOUT":
      return `connection timed out (is the host of the URL from ${urlSource} reachable from here?)`;
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return `no route to the host (${code})`;
    case "DEPTH_ZERO_SELF_SIGNED_CERT":
    case "SELF_SIGNED_CERT_IN_CHAIN":
    case "UNABLE_TO_VERIFY_LEAF_SIGNATURE":
    case "CERT_HAS_EXPIRED":
    case "ERR_TLS_CERT_ALTNAME_INVALID":
      return `the TLS certificate is not trusted (${code})`;
    default: {
      const inner = error?.cause;
      const message = typeof inner?.message === "string" && inner.message ? inner.message : error?.message;
      return oneLine(`${message ?? "the request failed"}${code ? ` (${code})` : ""}`);
    }
  }
}
var ApiClient = class _ApiClient {
  constructor(options) {
    this.options = options;
    this.fetch = options.fetch ?? globalThis.fetch;
    this.timeoutMs = options.timeoutMs ?? REQUEST_TIMEOUT_MS;
  }
  fetch;
  timeoutMs;
  get baseUrl() {
    return this.options.settings.url;
  }
  urlOf(request) {
    const url = new URL(`${this.baseUrl}${request.path}`);
    for (const [key, value] of Object.entries(request.query ?? {})) url.searchParams.set(key, value);
    return url.toString();
  }
  /** A client for another server (the sandbox's endpoint, named by the control plane): the token is not sent there. */
  beside(url, urlSource) {
    const { bearer: _bearer, ...options } = this.options;
    return new _ApiClient({ ...options, settings: { url, urlSource, token: "", tokenSource: "none" } });
  }
  /** The parsed JSON body of a 2xx answer; throws ApiError or NetworkError otherwise. */
  async send(request, signal) {
    const url = this.urlOf(request);
    const deadline = AbortSignal.timeout(this.timeoutMs);
    const token = this.options.bearer ? await this.options.bearer() : this.options.settings.token;
    const headers = {
      accept: "application/json",
      ...token ? { authorization: `Bearer ${token}` } : {},
      "user-agent": this.options.userAgent ?? "slipway-cli"
    };
    if (request.body !== void 0) headers["content-type"] = "application/json";
    let response;
    let text;
    try {
      response = await this.fetch(url, {
        method: request.method,
        headers,
        ...request.body !== void 0 ? { body: JSON.stringify(request.body) } : {},
        signal: signal ? AbortSignal.any([deadline, signal]) : deadline
      });
      text = await response.text();
    } catch (error) {
      if (signal?.aborted) throw signal.reason ?? error;
      throw new NetworkError(
        `cannot reach ${this.baseUrl}: ${networkReason(error, this.options.settings.urlSource, this.timeoutMs)}`,
        { cause: error }
      );
    }
    let body;
    try {
      body = text === "" ? void 0 : JSON.parse(text);
    } catch {
      body = void 0;
    }
    if (!response.ok) {
      const error = body?.error;
      const message = typeof error?.message === "string" && error.message ? error.message : text.trim() ? oneLine(text).slice(0, 200) : `${request.method} ${request.path} answered ${statusText(response.status)}`;
      throw new ApiError(
        response.status,
        message,
        typeof error?.code === "string" ? error.code : void 0,
        error?.details
      );
    }
    if (body === void 0 && text !== "") {
      throw new ApiError(
        response.status,
        `${request.method} ${request.path} answered with something that is not JSON; is ${this.baseUrl} a Slipway control plane?`
      );
    }
    return body;
  }
};

// src/profile.ts
function checkUrl(url, source, insecure = false) {
  let parsed;
  try {
    parsed = new URL(url);
  } catch {
    throw new SetupError(`${source} ${JSON.stringify(url)} is not a URL; expected http://host:port or https://host`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new SetupError(`${source} ${JSON.stringify(url)}: expected an http:// or https:// URL`);
  }
  if (parsed.username || parsed.password) {
    throw new SetupError(`${source}: put the token in --token or SLIPWAY_TOKEN, not in the URL`);
  }
  if (parsed.search || parsed.hash)
    throw new SetupError(`${source} ${JSON.stringify(url)}: expected no query or fragment`);
  if (parsed.protocol === "http:" && !isLoopbackHost(parsed.hostname) && !insecure) {
    throw new SetupError(
      `${source} ${JSON.stringify(url)}: would send the API token in clear text to ${parsed.hostname}, which is not this machine; use https://, or give --insecure to send it anyway`
    );
  }
  return `${parsed.origin}${parsed.pathname.replace(/\/+$/, "")}`;
}

// src/action/id-token.ts
var IdTokenError = class extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = "IdTokenError";
  }
};
async function requestIdToken(env, audience, fetchImpl = globalThis.fetch, timeoutMs = 3e4) {
  const url = env.ACTIONS_ID_TOKEN_REQUEST_URL;
  const bearer = env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
  if (!url || !bearer) {
    throw new IdTokenError(
      "no OIDC token can be requested (ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set): give the job permissions: id-token: write"
    );
  }
  let response;
  let text;
  try {
    response = await fetchImpl(`${url}&audience=${encodeURIComponent(audience)}`, {
      headers: { accept: "application/json", authorization: `Bearer ${bearer}` },
      signal: AbortSignal.timeout(timeoutMs)
    });
    text = await response.text();
  } catch (error) {
    throw new IdTokenError(`the OIDC token request failed: ${oneLine(error.message)}`, { cause: error });
  }
  if (!response.ok) {
    throw new IdTokenError(`the OIDC token request answered ${response.status}: ${oneLine(text).slice(0, 200)}`);
  }
  let value;
  try {
    value = JSON.parse(text).value;
  } catch {
    value = void 0;
  }
  if (typeof value !== "string" || value === "") throw new IdTokenError("the OIDC token answer has no value");
  return value;
}
function expiryOf(jwt) {
  try {
    const payload = JSON.parse(Buffer.from(jwt.split(".")[1] ?? "", "base64url").toString("utf8"));
    return typeof payload.exp === "number" ? payload.exp * 1e3 : void 0;
  } catch {
    return void 0;
  }
}
var RENEW_BEFORE_MS = 6e4;
function idTokenSource(options) {
  const now = options.now ?? Date.now;
  let current;
  return async () => {
    if (current && (current.expiresAt === void 0 || current.expiresAt - now() > RENEW_BEFORE_MS)) return current.jwt;
    const jwt = await requestIdToken(options.env, options.audience, options.fetch);
    options.onToken(jwt);
    current = { jwt, expiresAt: expiryOf(jwt) };
    return jwt;
  };
}

// src/action/inputs.ts
var InputError = class extends Error {
  constructor(input2, why) {
    super(`input ${input2}: ${why}`);
    this.name = "InputError";
  }
};
function input(env, name) {
  const value = env[`INPUT_${name.replace(/ /g, "_").toUpperCase()}`]?.trim();
  return value ? value : void 0;
}
function required(env, name) {
  const value = input(env, name);
  if (value === void 0) throw new InputError(name, "required");
  return value;
}
var TRUE = ["true", "True", "TRUE"];
var FALSE = ["false", "False", "FALSE"];
function readInputs(env) {
  const tag = input(env, "tag");
  const digest = input(env, "digest");
  if (tag === void 0 === (digest === void 0)) {
    throw new InputError("tag", tag === void 0 ? "give tag or digest" : "give tag or digest, not both");
  }
  const waitText = input(env, "wait") ?? "true";
  if (!TRUE.includes(waitText) && !FALSE.includes(waitText)) {
    throw new InputError("wait", `${JSON.stringify(waitText)}: expected true or false`);
  }
  const timeoutText = input(env, "timeout");
  const timeoutMinutes = timeoutText === void 0 ? DEFAULT_TIMEOUT_MINUTES : timeoutMinutesOf(timeoutText);
  if (timeoutMinutes === void 0) {
    throw new InputError("timeout", `${JSON.stringify(timeoutText)}: expected minutes, a number above 0`);
  }
  const reason = input(env, "reason");
  return {
    url: required(env, "url"),
    app: required(env, "app"),
    environment: required(env, "environment"),
    ...tag !== void 0 ? { tag } : {},
    ...digest !== void 0 ? { digest } : {},
    ...reason !== void 0 ? { reason } : {},
    wait: TRUE.includes(waitText),
    timeoutMinutes,
    audience: input(env, "audience") ?? "slipway"
  };
}

// src/action/workflow-commands.ts
import { randomUUID } from "node:crypto";
function escapeData(text) {
  return text.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
}
function maskCommand(secret) {
  return `::add-mask::${escapeData(secret)}
`;
}
function errorCommand(message) {
  return `::error::${escapeData(message)}
`;
}
function outputEntry(name, value, delimiter = `ghadelimiter_${randomUUID()}`) {
  if (name.includes(delimiter) || value.includes(delimiter)) {
    throw new Error(`the output ${name} contains its delimiter`);
  }
  return `${name}<<${delimiter}
${value}
${delimiter}
`;
}
function markdownCell(text) {
  return (text ?? "").replace(/\s+/g, " ").trim().replace(/\|/g, "\\|");
}

// src/action/deploy.ts
var PLAIN = { colour: false };
var SUCCESS = 0;
var FAILURE = 1;
function outputsOf(record) {
  return { "deployment-id": record.id, state: record.state, digest: record.to.digest ?? "" };
}
function deploymentSummary(record, verdict) {
  const rows = record.timeline.map(
    (entry) => `| ${time(entry.at)} | ${entry.state} | ${markdownCell(entry.note)} | ${markdownCell(entry.by)} |`
  );
  return [
    `### Slipway: ${record.kind} ${record.app}/${record.environment}`,
    "",
    markdownCell(verdict),
    "",
    `Digest: \`${record.to.digest ?? "-"}\`${record.to.tag ? ` (tag \`${record.to.tag}\`)` : ""}`,
    "",
    "| Time | State | Note | By |",
    "| --- | --- | --- | --- |",
    ...rows,
    ""
  ].join("\n");
}
function refusalSummary(inputs, reason) {
  return [`### Slipway: deploy ${inputs.app}/${inputs.environment} was not started`, "", markdownCell(reason), ""].join(
    "\n"
  );
}
function deployCommand(inputs) {
  return {
    name: "deploy",
    app: inputs.app,
    environment: inputs.environment,
    ...inputs.tag !== void 0 ? { tag: inputs.tag } : {},
    ...inputs.digest !== void 0 ? { digest: inputs.digest } : {},
    ...inputs.reason !== void 0 ? { reason: inputs.reason } : {},
    dryRun: false,
    wait: inputs.wait,
    timeoutMinutes: inputs.timeoutMinutes
  };
}
async function runDeployAction(io) {
  const secrets = [];
  const print = (line) => io.stdout(`${line}
`);
  const summary = (markdown) => {
    if (io.env.GITHUB_STEP_SUMMARY) io.appendFile(io.env.GITHUB_STEP_SUMMARY, markdown);
  };
  const fail = (message) => {
    io.stdout(errorCommand(redact(message, secrets)));
    return FAILURE;
  };
  let inputs;
  try {
    inputs = readInputs(io.env);
  } catch (error) {
    if (error instanceof InputError) return fail(error.message);
    throw error;
  }
  const writeOutputs = (record2) => {
    if (!io.env.GITHUB_OUTPUT) return;
    for (const [name, value] of Object.entries(outputsOf(record2))) {
      io.appendFile(io.env.GITHUB_OUTPUT, outputEntry(name, value));
    }
  };
  let record;
  try {
    const url = checkUrl(inputs.url, "input url");
    const bearer = idTokenSource({
      env: io.env,
      audience: inputs.audience,
      ...io.fetch ? { fetch: io.fetch } : {},
      ...io.now ? { now: io.now } : {},
      onToken: (jwt) => {
        secrets.push(jwt);
        io.stdout(maskCommand(jwt));
      }
    });
    const token = await bearer();
    const client = new ApiClient({
      settings: { url, urlSource: "input url", token, tokenSource: "the workflow's OIDC token" },
      bearer,
      ...io.fetch ? { fetch: io.fetch } : {},
      userAgent: `slipway-action/${io.version}`
    });
    ({ deployment: record } = await client.send(requestFor(deployCommand(inputs))));
    print(deploymentHeadline(PLAIN, record));
    let timedOut = false;
    if (inputs.wait) {
      const outcome = await follow(record, deploymentFollowing(client, record.id, PLAIN), {
        timeoutMs: inputs.timeoutMinutes * 6e4,
        // A cancelled job stops the step; the deployment goes on, as after Ctrl-C.
        signal: new AbortController().signal,
        clock: io.clock ?? realClock,
        progress: plainProgress(io.stdout)
      });
      record = outcome.record;
      timedOut = outcome.kind === "timeout";
    }
    writeOutputs(record);
    const verdict = timedOut ? `Gave up following ${record.id} after ${duration(inputs.timeoutMinutes * 6e4)}; it is still ${record.state} on the control plane` : inputs.wait ? deploymentVerdict(PLAIN, record) : `Deployment ${record.id} is ${record.state}; not followed (wait: false)`;
    summary(deploymentSummary(record, verdict));
    print(verdict);
    if (timedOut || DEPLOYMENT_FAILURES.includes(record.state)) return fail(verdict);
    return SUCCESS;
  } catch (error) {
    const message = redact(error instanceof Error ? error.message : String(error), secrets);
    if (record) {
      writeOutputs(record);
      summary(deploymentSummary(record, `Stopped following ${record.id}: ${message}`));
    } else {
      summary(refusalSummary(inputs, message));
    }
    return fail(message);
  }
}

// src/action/main.ts
process.exitCode = await runDeployAction({
  env: process.env,
  stdout: (text) => process.stdout.write(text),
  appendFile: (path, text) => appendFileSync(path, text),
  version: "0.1.0"
});
