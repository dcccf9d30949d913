// The operations page: every orchestration Toygres runs, newest first, filtered by
// status, kind or instance, a page at a time. The first page refreshes while it is open,
// so running operations show their current step.

import { api } from "./api.js";
import { banner, h, replace } from "./dom.js";
import { operationTable } from "./operation_table.js";
import { every } from "./poll.js";

const REFRESH_MS = 3000;
const PAGE = 25;
const STATUSES = ["", "running", "completed", "failed"];
const KINDS = ["", "create", "delete", "stop", "start", "restart", "backup", "backup_schedule", "delete_backup", "actor", "system"];

/** Operations once each: a refreshed first page may overlap the older pages below it. */
function unique(operations) {
  const seen = new Set();
  return operations.filter((operation) => !seen.has(operation.id) && seen.add(operation.id));
}

export function operationsPage(main) {
  const filters = { status: "", kind: "", instance: "" };
  const list = h("div", {});
  const more = h("div", {});
  let pages = [];
  let cursor = null;

  const select = (key, options) => h("select", {
    id: `filter-${key}`, "data-test": `filter-${key}`,
    onchange: (event) => { filters[key] = event.target.value; reload(); },
  }, options.map((value) => h("option", { value }, value ? value.replaceAll("_", " ") : "any")));
  const instance = h("input", { id: "filter-instance", placeholder: "any", "data-test": "filter-instance" });
  instance.addEventListener("change", () => { filters.instance = instance.value.trim(); reload(); });

  replace(main,
    h("div", { class: "page-head" }, h("h1", {}, "Operations")),
    h("section", { class: "card" },
      h("div", { class: "filters" },
        h("div", {}, h("label", { for: "filter-status" }, "Status"), select("status", STATUSES)),
        h("div", {}, h("label", { for: "filter-kind" }, "Kind"), select("kind", KINDS)),
        h("div", {}, h("label", { for: "filter-instance" }, "Instance"), instance)),
      list, more));

  // Each change of filters starts a new generation; an answer to an older one is dropped.
  let generation = 0;

  async function firstPage() {
    const asked = generation;
    try {
      const page = await api.operations({ ...filters, limit: PAGE });
      if (asked !== generation) return;
      pages = [page.operations, ...pages.slice(1)];
      if (pages.length === 1) cursor = page.next_cursor;
      render();
    } catch (error) {
      if (asked === generation) replace(list, h("div", { class: "card-body" }, banner("error", error.message)));
    }
  }

  async function nextPage(event) {
    const asked = generation;
    event.currentTarget.disabled = true;
    try {
      const page = await api.operations({ ...filters, limit: PAGE, cursor });
      if (asked !== generation) return;
      pages.push(page.operations);
      cursor = page.next_cursor;
      render();
    } catch (error) {
      if (asked === generation) replace(more, banner("error", error.message));
    }
  }

  function render() {
    replace(list, operationTable(unique(pages.flat()), { showInstance: true }));
    replace(more, cursor
      ? h("div", { class: "load-more" }, h("button", { onclick: nextPage, "data-test": "load-more" }, "Load older operations"))
      : null);
  }

  function reload() {
    generation += 1;
    pages = [];
    cursor = null;
    firstPage();
  }

  return every(REFRESH_MS, firstPage);
}
