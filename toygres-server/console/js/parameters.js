// An instance's PostgreSQL parameters: those its running server has away from
// PostgreSQL's defaults and those its tenant asked for, each with where its value comes
// from and whether a change waits for a restart; a form that sets one and a *Reset* on
// each asked-for one, the changes `toygres-cli config set` and `config reset` make.
// Reading them asks the server itself, so it is done when the instance (again) runs, when
// a change it was asked for has ended, and on *Reload*, not at every refresh. The form is
// drawn once, so polling never takes away what the reader is typing.

import { api } from "./api.js";
import { banner, card, h, pill, replace, submit, toast } from "./dom.js";

export function parametersCard(name) {
  const body = h("div", {}, h("div", { class: "empty" }, "…"));
  const notice = h("div", { "data-test": "parameters-notice" });
  let state = null;
  // Nothing is changed from two places at once, nor while the server is not running.
  let sending = false;
  // The configure operation the form started, until the table has been read after it.
  let awaiting = null;

  const load = async () => {
    try {
      replace(body, table((await api.config(name)).parameters, resetOne));
      enable();
    } catch (error) {
      replace(body, h("div", { class: "card-body" }, banner("error", error.message)));
    }
  };
  const reload = h("button", { "data-test": "reload-parameters", disabled: true, onclick: load }, "Reload");
  const parameter = h("input", {
    id: "parameter-name", autocomplete: "off", spellcheck: "false", required: true,
    placeholder: "work_mem", "data-test": "parameter-name",
  });
  const value = h("input", {
    id: "parameter-value", autocomplete: "off", spellcheck: "false",
    placeholder: "64MB", "data-test": "parameter-value",
  });
  const set = h("button", { type: "submit", disabled: true, "data-test": "parameter-set" }, "Set");
  const form = h("form", {
    class: "inline-form",
    onsubmit: (event) => {
      event.preventDefault();
      const asked = parameter.value.trim();
      change({ set: { [asked]: value.value } }, `${asked}=${value.value}`, () => {
        parameter.value = "";
        value.value = "";
      });
    },
  },
  h("div", { class: "wide" }, h("label", { for: "parameter-name" }, "Parameter"), parameter),
  h("div", {}, h("label", { for: "parameter-value" }, "Value"), value),
  h("div", { class: "actions" }, set));
  const element = card(["Parameters", h("span", { class: "hint" }, "toygres-cli config show, set, reset"),
    h("span", { class: "spacer" }), reload],
  h("div", { class: "card-body" }, notice, form), body);

  /** Buttons work while the server runs and no change is on its way to it. */
  function enable() {
    const off = state !== "running" || sending;
    reload.disabled = state !== "running";
    set.disabled = off;
    for (const button of body.querySelectorAll("[data-test=reset-parameter]")) button.disabled = off;
  }

  /** Asks the server for a change; says why not beside the form, having changed nothing. */
  function change(request, said, done) {
    return submit(notice, busy, async () => {
      const accepted = await api.configure(name, request);
      awaiting = accepted.orchestration_id;
      done?.();
      toast(`${name}: configuring ${said}.`);
      refresh(accepted.instance);
    });
  }

  function busy(on) {
    sending = on;
    enable();
  }

  function resetOne(parameterName) {
    change({ reset: [parameterName] }, `${parameterName} back to its default`);
  }

  /** Reads them when the instance comes to run or a change asked here has ended; says why not while it does not run. */
  function refresh(instance) {
    const was = state;
    state = instance.state;
    enable();
    // The operation may end between two refreshes that both find it running.
    const applied = state === "running" && awaiting !== null
      && instance.operation?.id === awaiting && instance.operation.status !== "running";
    if (applied) awaiting = null;
    if (state === was && !applied) return;
    if (state === "running") load();
    else replace(body, h("div", { class: "empty" }, `They are read from the running server: ${name} is ${state.replaceAll("_", " ")}.`));
  }
  return { element, refresh };
}

function table(parameters, reset) {
  if (parameters.length === 0) return h("div", { class: "empty" }, "All at PostgreSQL's defaults.");
  return h("table", { "data-test": "parameters" },
    h("thead", {}, h("tr", {},
      ["Name", "Value", "Source", "Asked for", "Restart", ""].map((title) => h("th", {}, title)))),
    h("tbody", {}, parameters.map((parameter) => h("tr", { "data-parameter": parameter.name },
      h("td", { class: "mono" }, parameter.name),
      h("td", { class: "mono" }, parameter.value),
      h("td", { class: "muted-text nowrap" }, parameter.source),
      h("td", { class: "mono" }, parameter.desired ?? "—"),
      h("td", { class: "nowrap" }, parameter.pending_restart
        ? pill("pending_restart")
        : h("span", { class: "muted-text small" }, parameter.needs_restart ? "needed to change it" : "not needed")),
      h("td", {}, parameter.desired == null ? null : h("button", {
        class: "small-button", "data-test": "reset-parameter",
        title: `Back to the value it has without being asked (toygres-cli config reset ${parameter.name})`,
        onclick: () => reset(parameter.name),
      }, "Reset"))))));
}
