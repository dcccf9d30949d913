// One operation's page: its status and current step, what it was given and returned, why
// it failed, the operations it started, and the timeline of every execution (an eternal
// operation continues as new). Cancel and retry call the API, which refuses what would
// corrupt an instance and says why. Refreshes while the operation runs.

import { api } from "./api.js";
import {
  banner, card, duration, h, instanceHref, link, operationPill, replace, timestamp, toast,
} from "./dom.js";
import { operationTable } from "./operation_table.js";
import { every } from "./poll.js";

const REFRESH_MS = 2000;

export function operationPage(main, id) {
  const notice = h("div", {});
  const head = h("div", { class: "page-head" });
  const body = h("div", {});
  replace(main,
    h("div", { class: "crumbs" }, link("#/operations", "Operations"), " / ", h("span", { class: "mono" }, id)),
    head, notice, body);
  let finished = false;
  return every(REFRESH_MS, async () => {
    if (finished) return;
    let operation;
    try {
      operation = await api.operation(id);
    } catch (error) {
      replace(body, banner("error", error.status === 404 ? `There is no operation ${id}.` : error.message));
      return;
    }
    replace(head, h("h1", {}, `${operation.kind.replaceAll("_", " ")} operation`),
      operationPill(operation.status),
      operation.status === "running" && operation.step ? h("span", { class: "step", "data-test": "step" }, operation.step) : null,
      h("span", { class: "spacer" }), actions(operation, notice));
    replace(body, overview(operation), payloads(operation),
      operation.children.length ? card("Started by this operation", operationTable(operation.children, { showInstance: true })) : null,
      operation.executions.map(execution));
    finished = operation.status === "completed" || operation.status === "failed";
  });
}

function actions(operation, notice) {
  const act = async (what) => {
    replace(notice);
    try {
      const answer = await (what === "cancel" ? api.cancel(operation.id) : api.retry(operation.id));
      toast(answer.message);
      if (what === "retry") location.hash = `#/operations/${encodeURIComponent(answer.id)}`;
      else location.reload();
    } catch (error) {
      replace(notice, banner("error", error.message));
    }
  };
  return h("div", { class: "actions" },
    h("button", { class: "danger", disabled: operation.status !== "running", "data-test": "cancel", onclick: () => act("cancel") }, "Cancel"),
    h("button", { disabled: operation.status !== "failed", "data-test": "retry", onclick: () => act("retry") }, "Retry"));
}

function overview(operation) {
  return card("Summary", h("div", { class: "card-body" }, h("dl", { class: "facts" },
    h("dt", {}, "Id"), h("dd", { class: "mono" }, operation.id),
    h("dt", {}, "Instance"), h("dd", {}, operation.instance ? link(instanceHref(operation.instance), operation.instance) : "—"),
    h("dt", {}, "Orchestration"), h("dd", { class: "mono" }, `${operation.orchestration}${operation.version ? ` @ ${operation.version}` : ""}`),
    h("dt", {}, "Step"), h("dd", {}, operation.step ?? "—"),
    h("dt", {}, "Started"), h("dd", {}, timestamp(operation.started_at)),
    h("dt", {}, "Finished"), h("dd", {}, timestamp(operation.finished_at)),
    h("dt", {}, "Duration"), h("dd", {}, duration(operation.duration_secs)),
    operation.parent ? [h("dt", {}, "Started by"), h("dd", {}, link(`#/operations/${encodeURIComponent(operation.parent)}`, operation.parent))] : null,
  )));
}

function payloads(operation) {
  const json = (value) => value === null || value === undefined
    ? h("div", { class: "muted-text" }, "—")
    : h("pre", { class: "json" }, JSON.stringify(value, null, 2));
  return h("div", { class: "grid spaced" },
    card("Input", h("div", { class: "card-body" }, json(operation.input))),
    card(operation.error ? "Error" : "Output", h("div", { class: "card-body" }, operation.error
      ? h("div", { class: "error-box", "data-test": "error" }, operation.error)
      : json(operation.output))));
}

function execution(run) {
  return card(["Timeline", h("span", { class: "hint" }, `execution ${run.execution_id} · ${run.status.replaceAll("_", " ")}`)],
    h("table", { class: "timeline", "data-test": "timeline" },
      h("thead", {}, h("tr", {}, h("th", {}, "#"), h("th", {}, "Time"), h("th", {}, "Event"), h("th", {}, "About"), h("th", {}, "Detail"))),
      h("tbody", {}, run.timeline.map((entry) => h("tr", {},
        h("td", { class: "muted-text" }, entry.event_id),
        h("td", { class: "nowrap muted-text", title: entry.at }, new Date(entry.at).toLocaleTimeString()),
        h("td", { class: kindClass(entry.kind) }, entry.kind.replaceAll("_", " ")),
        h("td", { class: "mono" }, entry.name ?? (entry.completes !== null ? `↳ #${entry.completes}` : "")),
        h("td", { class: "detail" }, detail(entry.detail)))))));
}

function kindClass(kind) {
  if (kind.endsWith("_failed")) return "kind-failed";
  if (kind.endsWith("_completed")) return "kind-completed";
  return "";
}

function detail(value) {
  if (value === null || value === undefined) return "";
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text.length > 240 ? `${text.slice(0, 240)}…` : text;
}
