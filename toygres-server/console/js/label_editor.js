// An instance's labels on its page, changed as `toygres-cli label NAME k=v k-` changes
// them: a × on each chip removes that label, and a field sets one or more (`tier=gold`,
// or `team=web, tier=db`; a key it has already takes the new value). The server checks
// keys and values and, refusing, changes nothing: its message shows beside the field.
// Labels are the control plane's bookkeeping, not the server's, so they change in any
// state of a live instance. Drawn once: `refresh` redraws the chips only when they change
// (a click keeps its target), and never the field.

import { api } from "./api.js";
import { banner, card, h, replace, submit, toast } from "./dom.js";
import { labelChips, parseLabels } from "./labels.js";

/** States in which there is no live instance to label. */
const GONE = ["deleting", "deleted"];

export function labelsCard(name) {
  const chips = h("div", { class: "label-list", "data-test": "instance-labels" }, "…");
  const notice = h("div", { "data-test": "labels-notice" });
  const field = h("input", {
    id: "label-set", autocomplete: "off", spellcheck: "false", required: true,
    placeholder: "tier=gold", "data-test": "label-set",
  });
  const add = h("button", { type: "submit", disabled: true, "data-test": "label-add" }, "Set label");
  let shown = null;
  let state = null;
  let sending = false;

  const form = h("form", {
    class: "inline-form",
    onsubmit: (event) => {
      event.preventDefault();
      let set;
      try {
        set = parseLabels(field.value);
      } catch (error) {
        replace(notice, banner("error", error.message));
        return;
      }
      change({ set }, `labelled ${Object.entries(set).map(([key, value]) => `${key}=${value}`).join(", ")}`,
        () => { field.value = ""; });
    },
  },
  h("div", { class: "wide" }, h("label", { for: "label-set" }, "Set a label (key=value)"), field),
  h("div", { class: "actions" }, add));
  const element = card(["Labels", h("span", { class: "hint" }, "toygres-cli label")],
    h("div", { class: "card-body" }, chips, notice, form));

  function busy(on) {
    sending = on;
    enable();
  }

  /** Buttons work on a live instance while no change is on its way. */
  function enable() {
    const off = state === null || GONE.includes(state) || sending;
    add.disabled = off;
    for (const button of chips.querySelectorAll("[data-test=remove-label]")) button.disabled = off;
  }

  function show(labels) {
    const now = JSON.stringify(Object.entries(labels ?? {}).sort());
    if (now === shown) return;
    shown = now;
    replace(chips, labelChips(labels, (key) => change({ remove: [key] }, `label ${key} removed`)));
  }

  /** Sends a change; the answer is the instance with its labels as they now are. */
  function change(request, said, done) {
    return submit(notice, busy, async () => {
      const instance = await api.label(name, request);
      done?.();
      toast(`${name}: ${said}.`);
      show(instance.labels);
    });
  }

  function refresh(instance) {
    state = instance.state;
    show(instance.labels);
    enable();
  }
  return { element, refresh };
}
