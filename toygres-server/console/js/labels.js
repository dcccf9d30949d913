// Labels, as the instances and instance pages show them and the create and label forms
// take them: `key=value` chips (on the instance page each with a × that removes it), and
// the same text typed as `team=web, tier=db`. The server checks keys and values
// (Kubernetes' rules); the console only splits what was typed.

import { h } from "./dom.js";

/** An instance's labels as chips, sorted by key, each with a × calling `remove(key)` when
 * given; a dash when it has none. */
export function labelChips(labels = {}, remove = null) {
  const entries = Object.entries(labels).sort(([a], [b]) => a.localeCompare(b));
  if (entries.length === 0) return h("span", { class: "muted-text" }, "—");
  return h("span", { class: "labels", "data-test": "labels" }, entries.map(([key, value]) =>
    h("span", { class: "label-chip", "data-label": key }, `${key}=${value}`, remove
      ? h("button", {
        type: "button", class: "chip-remove", title: `Remove the label ${key}`,
        "aria-label": `Remove the label ${key}`, "data-test": "remove-label", onclick: () => remove(key),
      }, "×")
      : null)));
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
