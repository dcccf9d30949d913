// The instances page: the fleet at a glance (state, health, labels, endpoint), narrowed by
// a label selector (kubectl's syntax, checked by the server; kept in the hash so a reload
// or a shared link shows the same), and the form that creates an instance. The list
// refreshes every two seconds while the page is open.

import { api } from "./api.js";
import { ago, banner, h, instanceHref, link, pill, replace, submit, toast } from "./dom.js";
import { labelChips, parseLabels } from "./labels.js";
import { every } from "./poll.js";

const REFRESH_MS = 2000;

export function instancesPage(main, search = new URLSearchParams()) {
  const notice = h("div", {});
  const stats = h("div", { class: "stats" });
  const rows = h("div", {});
  const form = createForm(notice);
  let selector = search.get("selector") ?? "";
  // Each change of selector starts a new generation; an answer to an older one is dropped.
  let generation = 0;
  const refresh = async () => {
    const asked = generation;
    try {
      const { instances } = await api.instances(selector);
      if (asked !== generation) return;
      replace(stats, summary(instances));
      replace(rows, instances.length ? table(instances) : emptyFleet(selector));
    } catch (error) {
      if (asked !== generation) return;
      replace(stats);
      replace(rows, h("div", { class: "card-body" },
        banner("error", `Could not load the instances: ${error.message}`)));
    }
  };
  const filter = selectorFilter(selector, (typed) => {
    if (typed === selector) return;
    selector = typed;
    generation += 1;
    history.replaceState(null, "", selector ? `#/instances?${new URLSearchParams({ selector })}` : "#/instances");
    refresh();
  });
  const newButton = h("button", {
    class: "primary", "data-test": "new-instance",
    onclick: () => {
      form.hidden = !form.hidden;
      if (!form.hidden) form.querySelector("input").focus();
    },
  }, "New instance");
  replace(main,
    h("div", { class: "page-head" }, h("h1", {}, "Instances"), h("span", { class: "spacer" }), newButton),
    notice, form, stats,
    h("section", { class: "card" }, filter, rows),
  );
  return every(REFRESH_MS, refresh);
}

/** The selector's field: applied on Enter or when it loses focus. */
function selectorFilter(selector, apply) {
  const input = h("input", {
    id: "filter-selector", value: selector, autocomplete: "off", spellcheck: "false",
    placeholder: "team=web, tier in (db,cache), !legacy", "data-test": "filter-selector",
  });
  input.addEventListener("change", () => apply(input.value.trim()));
  return h("form", {
    class: "filters",
    onsubmit: (event) => { event.preventDefault(); apply(input.value.trim()); },
  }, h("div", { class: "wide" }, h("label", { for: "filter-selector" }, "Label selector"), input));
}

function summary(instances) {
  const count = (predicate) => instances.filter(predicate).length;
  const stat = (label, value, test) =>
    h("div", { class: "stat" }, h("div", { class: "label" }, label), h("div", { class: "value", "data-test": test }, value));
  return [
    stat("Instances", instances.length, "count-all"),
    stat("Running", count((i) => i.state === "running"), "count-running"),
    stat("Healthy", count((i) => i.health.status === "healthy"), "count-healthy"),
    stat("Need a look", count((i) => i.state === "failed" || ["unhealthy", "degraded", "stale"].includes(i.health.status)), "count-attention"),
  ];
}

function table(instances) {
  return h("table", { "data-test": "instances" },
    h("thead", {}, h("tr", {},
      h("th", {}, "Name"), h("th", {}, "State"), h("th", {}, "Health"), h("th", {}, "Labels"),
      h("th", {}, "Endpoint"), h("th", {}, "Version"), h("th", {}, "Created"))),
    h("tbody", {}, instances.map(row)),
  );
}

function row(instance) {
  const step = instance.operation?.status === "running" ? instance.operation.step : null;
  return h("tr", { "data-instance": instance.name },
    h("td", {}, link(instanceHref(instance.name), h("strong", {}, instance.name))),
    h("td", {}, pill(instance.state), step ? h("span", { class: "step" }, step) : null),
    h("td", { title: instance.health.reason ?? "" }, pill(instance.health.status)),
    h("td", {}, labelChips(instance.labels)),
    h("td", { class: "mono" }, instance.endpoint ? `${instance.endpoint.host}:${instance.endpoint.port}` : "—"),
    h("td", {}, `PostgreSQL ${instance.postgres_version}`),
    h("td", { class: "muted-text", title: instance.created_at }, ago(instance.created_at)),
  );
}

function emptyFleet(selector) {
  if (selector) {
    return h("div", { class: "empty", "data-test": "no-match" }, h("strong", {}, "No instance matches"),
      "No live instance has labels that match ", h("span", { class: "mono" }, selector), ".");
  }
  return h("div", { class: "empty" }, h("strong", {}, "No instances yet"),
    "Create one with “New instance”: it is deployed, checked and watched for you.");
}

function createForm(notice) {
  const name = h("input", { id: "new-name", required: true, placeholder: "shop", autocomplete: "off", "data-test": "new-name" });
  const version = h("input", { id: "new-version", inputmode: "numeric", placeholder: "server default", "data-test": "new-version" });
  const storage = h("input", { id: "new-storage", type: "number", min: "1", placeholder: "server default", "data-test": "new-storage" });
  const labels = h("input", { id: "new-labels", autocomplete: "off", placeholder: "team=web, tier=db", "data-test": "new-labels" });
  const create = h("button", { class: "primary", type: "submit", "data-test": "create" }, "Create");
  const form = h("form", {
    class: "card", hidden: true,
    onsubmit: (event) => {
      event.preventDefault();
      return submit(notice, (on) => { create.disabled = on; }, async () => {
        const request = { name: name.value.trim() };
        if (version.value.trim()) request.postgres_version = version.value.trim();
        if (storage.value) request.storage_gb = Number(storage.value);
        const asked = parseLabels(labels.value);
        if (Object.keys(asked).length) request.labels = asked;
        await api.create(request);
        toast(`Creating ${request.name}: it shows as running once it accepts connections.`);
        form.reset();
        form.hidden = true;
      });
    },
  }, h("h2", {}, "New instance", h("span", { class: "hint" }, "lowercase letters, digits and hyphens")),
  h("div", { class: "card-body form-row" },
    h("div", {}, h("label", { for: "new-name" }, "Name"), name),
    h("div", {}, h("label", { for: "new-version" }, "PostgreSQL ", h("span", { class: "optional" }, "(optional)")), version),
    h("div", {}, h("label", { for: "new-storage" }, "Storage GB ", h("span", { class: "optional" }, "(optional)")), storage),
    h("div", {}, h("label", { for: "new-labels" }, "Labels ", h("span", { class: "optional" }, "(optional)")), labels),
    create,
  ));
  return form;
}
