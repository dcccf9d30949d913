// Building the page: elements from plain data (text is always text, never parsed as
// HTML), status pills with one colour per meaning, and times people read at a glance.

export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) element.addEventListener(key.slice(2), value);
    else if (key === "class") element.className = value;
    else element.setAttribute(key, value === true ? "" : String(value));
  }
  append(element, children);
  return element;
}

export function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

export function replace(element, ...children) {
  element.replaceChildren();
  return append(element, children);
}

const TONES = {
  ok: ["running", "healthy", "completed", "streaming"],
  busy: ["creating", "starting", "stopping", "restarting", "deleting", "configuring",
    "switching_over", "failing_over"],
  warn: ["stale", "degraded", "continued_as_new", "disconnected", "pending_restart"],
  bad: ["failed", "unhealthy", "not_found", "unreachable"],
};

function tone(value) {
  for (const [name, values] of Object.entries(TONES)) if (values.includes(value)) return name;
  return "muted";
}

/** A status as a coloured pill; an operation's `running` is work in progress, not health. */
export function pill(value, { busy = false } = {}) {
  const label = String(value ?? "unknown").replaceAll("_", " ");
  return h("span", { class: `pill ${busy ? "busy" : tone(value)}`, "data-status": value }, label);
}

export function operationPill(status) {
  return pill(status, { busy: status === "running" });
}

export function ago(when) {
  if (!when) return "—";
  const seconds = Math.round((Date.now() - new Date(when).getTime()) / 1000);
  if (seconds < 5) return "just now";
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h ago`;
  return `${Math.floor(seconds / 86400)}d ago`;
}

export function timestamp(when) {
  if (!when) return "—";
  return new Date(when).toLocaleString(undefined, {
    year: "numeric", month: "short", day: "numeric",
    hour: "2-digit", minute: "2-digit", second: "2-digit",
  });
}

export function duration(seconds) {
  if (seconds === undefined || seconds === null) return "—";
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${Math.round(seconds % 60)}s`;
  return `${Math.floor(minutes / 60)}h ${minutes % 60}m`;
}

export function link(href, ...children) {
  return h("a", { href }, ...children);
}

export function instanceHref(name) {
  return `#/instances/${encodeURIComponent(name)}`;
}

export function operationHref(id) {
  return `#/operations/${encodeURIComponent(id)}`;
}

export function card(title, ...body) {
  return h("section", { class: "card" }, h("h2", {}, title), ...body);
}

export function banner(kind, text) {
  return h("div", { class: `banner ${kind}`, role: kind === "error" ? "alert" : "status" }, text);
}

/** Sends a form's request once: `busy(true)` while it is on its way and `busy(false)` after;
 * a refusal (the server's own sentence) is shown in `notice`, cleared first. */
export async function submit(notice, busy, send) {
  replace(notice);
  busy(true);
  try {
    await send();
  } catch (error) {
    replace(notice, banner("error", error.message));
  } finally {
    busy(false);
  }
}

let toastTimer;

/** A short confirmation in the corner that fades by itself. */
export function toast(text) {
  document.querySelector(".toast")?.remove();
  const element = h("div", { class: "toast", role: "status", "data-test": "toast" }, text);
  document.body.append(element);
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => element.remove(), 5000);
}
