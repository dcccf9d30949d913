// Operations as a table: kind, instance, status, current step, start and duration, each
// row linking to the operation's page. Shared by the operations and instance pages.

import { ago, duration, h, instanceHref, link, operationHref, operationPill } from "./dom.js";

export function operationTable(operations, { showInstance = false } = {}) {
  if (operations.length === 0) return h("div", { class: "empty" }, "No operations.");
  return h("table", { "data-test": "operations" },
    h("thead", {}, h("tr", {},
      h("th", {}, "Kind"), showInstance ? h("th", {}, "Instance") : null, h("th", {}, "Status"),
      h("th", {}, "Step"), h("th", {}, "Started"), h("th", {}, "Duration"), h("th", {}, "Id"))),
    h("tbody", {}, operations.map((operation) => h("tr", { "data-operation": operation.id },
      h("td", {}, link(operationHref(operation.id), h("strong", {}, operation.kind.replaceAll("_", " ")))),
      showInstance ? h("td", {}, operation.instance
        ? link(instanceHref(operation.instance), operation.instance)
        : h("span", { class: "muted-text" }, "—")) : null,
      h("td", {}, operationPill(operation.status)),
      h("td", { class: "muted-text" }, operation.step ?? "—"),
      h("td", { class: "muted-text nowrap", title: operation.started_at }, ago(operation.started_at)),
      h("td", { class: "num" }, duration(operation.duration_secs)),
      h("td", { class: "mono small muted-text" }, shorten(operation.id))))),
  );
}

function shorten(id) {
  return id.length > 38 ? `${id.slice(0, 36)}…` : id;
}
