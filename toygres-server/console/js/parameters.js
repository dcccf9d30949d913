// An instance's PostgreSQL parameters, read-only: those its running server has away from
// PostgreSQL's defaults and those its tenant asked for, each with where its value comes
// from and whether a change waits for a restart. Reading them asks the server itself, so
// it is done when the instance (again) runs and on *Reload*, not at every refresh.

import { api } from "./api.js";
import { banner, card, h, pill, replace } from "./dom.js";

export function parametersCard(name) {
  const body = h("div", {}, h("div", { class: "empty" }, "…"));
  let state = null;
  const load = async () => {
    try {
      replace(body, table((await api.config(name)).parameters));
    } catch (error) {
      replace(body, h("div", { class: "card-body" }, banner("error", error.message)));
    }
  };
  const reload = h("button", { "data-test": "reload-parameters", disabled: true, onclick: load }, "Reload");
  const element = card(["Parameters", h("span", { class: "hint" }, "toygres-cli config set to change them"),
    h("span", { class: "spacer" }), reload], body);

  /** Reads them when the instance comes to run; says why not while it does not. */
  function refresh(instance) {
    const was = state;
    state = instance.state;
    reload.disabled = state !== "running";
    if (state === was) return;
    if (state === "running") load();
    else replace(body, h("div", { class: "empty" }, `They are read from the running server: ${name} is ${state.replaceAll("_", " ")}.`));
  }
  return { element, refresh };
}

function table(parameters) {
  if (parameters.length === 0) return h("div", { class: "empty" }, "All at PostgreSQL's defaults.");
  return h("table", { "data-test": "parameters" },
    h("thead", {}, h("tr", {},
      ["Name", "Value", "Source", "Asked for", "Restart"].map((title) => h("th", {}, title)))),
    h("tbody", {}, parameters.map((parameter) => h("tr", { "data-parameter": parameter.name },
      h("td", { class: "mono" }, parameter.name),
      h("td", { class: "mono" }, parameter.value),
      h("td", { class: "muted-text nowrap" }, parameter.source),
      h("td", { class: "mono" }, parameter.desired ?? "—"),
      h("td", { class: "nowrap" }, parameter.pending_restart
        ? pill("pending_restart")
        : h("span", { class: "muted-text small" }, parameter.needs_restart ? "needed to change it" : "not needed"))))));
}
