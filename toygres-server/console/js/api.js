// The console's client of the Toygres API (`/api/v1`). The token lives in this browser
// session's storage only: it is sent as a bearer header, never put in a URL, and forgotten
// when the tab closes or the server stops accepting it.

const TOKEN_KEY = "toygres.token";

/** An API answer other than 2xx: the server's `{ error, message }`, or why there was none. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export const session = {
  token: () => sessionStorage.getItem(TOKEN_KEY),
  signIn: (token) => sessionStorage.setItem(TOKEN_KEY, token),
  signOut: () => sessionStorage.removeItem(TOKEN_KEY),
};

let unauthorized = () => {};

/** What to do when the server refuses the session's token (it was rotated, say). */
export function onUnauthorized(handler) {
  unauthorized = handler;
}

/**
 * One request with the session's token; its response when the server answers 2xx, else an
 * `ApiError` with the server's `{ error, message }`. An aborted request rejects with the
 * browser's own `AbortError`, which is not a failure to report.
 */
async function send(method, path, { body, token = session.token(), signal } = {}) {
  const headers = { Authorization: `Bearer ${token ?? ""}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(`/api/v1${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
      signal,
    });
  } catch (error) {
    if (error?.name === "AbortError") throw error;
    throw new ApiError(0, "unreachable", "The Toygres server cannot be reached.");
  }
  if (response.ok) return response;
  const json = parsed(await response.text());
  const error = new ApiError(
    response.status,
    json?.error ?? "http_error",
    json?.message ?? `The server answered ${response.status}.`,
  );
  if (response.status === 401 && token === session.token()) unauthorized(error);
  throw error;
}

function parsed(text) {
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}

async function call(method, path, options) {
  const response = await send(method, path, options);
  return parsed(await response.text());
}

const segment = encodeURIComponent;

function query(params) {
  const pairs = Object.entries(params).filter(([, value]) => value !== undefined && value !== "");
  if (pairs.length === 0) return "";
  return "?" + pairs.map(([key, value]) => `${segment(key)}=${segment(value)}`).join("&");
}

export const api = {
  /** Checks a token without keeping it. */
  check: (token) => call("GET", "/instances", { token }),
  /** Live instances; those whose labels match `selector` (kubectl's syntax) when given. */
  instances: (selector) => call("GET", `/instances${query({ selector })}`),
  instance: (name) => call("GET", `/instances/${segment(name)}`),
  create: (request) => call("POST", "/instances", { body: request }),
  remove: (name) => call("DELETE", `/instances/${segment(name)}`),
  power: (name, action) => call("POST", `/instances/${segment(name)}/${action}`),
  /** Moves the primary role to the least lagging standby. */
  switchover: (name) => call("POST", `/instances/${segment(name)}/switchover`, { body: {} }),
  events: (name) => call("GET", `/instances/${segment(name)}/events`),
  health: (name, limit) => call("GET", `/instances/${segment(name)}/health${query({ limit })}`),
  /** Its running server's parameters that differ from the defaults or were asked for. */
  config: (name) => call("GET", `/instances/${segment(name)}/config`),
  /** `{ set: { work_mem: "64MB" } }` or `{ reset: ["work_mem"] }`: starts a configure operation. */
  configure: (name, change) => call("POST", `/instances/${segment(name)}/config`, { body: change }),
  /** `{ set: { tier: "gold" } }` or `{ remove: ["tier"] }`: answers with the instance, relabelled. */
  label: (name, change) => call("POST", `/instances/${segment(name)}/labels`, { body: change }),
  /** Its server log's last `tail` lines, then more as they are written: the response
   * itself, whose body streams on until `signal` aborts it or the log can no longer be read. */
  followLog: (name, tail, signal) =>
    send("GET", `/instances/${segment(name)}/logs${query({ tail, follow: true })}`, { signal }),
  /** The backups of every instance that had this name, newest first. */
  backups: (name) => call("GET", `/backups${query({ instance: name })}`),
  backUp: (name) => call("POST", `/instances/${segment(name)}/backups`),
  schedule: (name) => call("GET", `/instances/${segment(name)}/backup-schedule`),
  setSchedule: (name, every_secs, keep) =>
    call("PUT", `/instances/${segment(name)}/backup-schedule`, { body: { every_secs, keep } }),
  endSchedule: (name) => call("DELETE", `/instances/${segment(name)}/backup-schedule`),
  operations: (filters) => call("GET", `/operations${query(filters)}`),
  operation: (id) => call("GET", `/operations/${segment(id)}`),
  cancel: (id) => call("POST", `/operations/${segment(id)}/cancel`),
  retry: (id) => call("POST", `/operations/${segment(id)}/retry`),
};
