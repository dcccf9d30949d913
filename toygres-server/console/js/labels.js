// Labels, as the instances and instance pages show them and the create form takes them:
// `key=value` chips, and the same text typed as `team=web, tier=db`. The server checks
// keys and values (Kubernetes' rules); the console only splits what was typed.

import { h } from "./dom.js";

/** An instance's labels as chips, sorted by key; a dash when it has none. */
export function labelChips(labels = {}) {
  const entries = Object.entries(labels).sort(([a], [b]) => a.localeCompare(b));
  if (entries.length === 0) return h("span", { class: "muted-text" }, "—");
  return h("span", { class: "labels", "data-test": "labels" }, entries.map(([key, value]) =>
    h("span", { class: "label-chip", "data-label": key }, `${key}=${value}`)));
}

/** `team=web, tier=db` as `{ team: "web", tier: "db" }`; throws saying which part is not `key=value`. */
export function parseLabels(text) {
  const labels = {};
  for (const part of text.split(",").map((piece) => piece.trim()).filter(Boolean)) {
    const equals = part.indexOf("=");
    if (equals <= 0) throw new Error(`Labels are written key=value, separated by commas: "${part}" is not.`);
    labels[part.slice(0, equals).trim()] = part.slice(equals + 1).trim();
  }
  return labels;
}
