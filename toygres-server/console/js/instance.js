// One instance's page: what it is and how to reach it, its labels (changed there), its
// members when it has standbys, the buttons that change it (the same API calls the CLI
// makes), its health over time, its state transitions, its backups (taken, scheduled,
// restored from), its parameters (changed there too), its server's own log (followed
// live) and the operations that acted on it. Refreshes every two seconds while open;
// leaving it ends the polling and the log's follow.

import { api } from "./api.js";
import { backupsCard } from "./backups.js";
import { healthChart } from "./health_chart.js";
import { labelsCard } from "./label_editor.js";
import { operationTable } from "./operation_table.js";
import { parametersCard } from "./parameters.js";
import { serverLogCard } from "./server_log.js";
import {
  ago, banner, card, h, link, operationHref, pill, replace, timestamp, toast,
} from "./dom.js";
import { every } from "./poll.js";

const REFRESH_MS = 2000;
const HEALTH_POINTS = 60;

/** Which buttons make sense in which state; the server still has the last word. */
const ALLOWED = {
  stop: ["running"],
  start: ["stopped", "failed"],
  restart: ["running"],
  switchover: ["running"],
  delete: ["creating", "running", "stopping", "stopped", "starting", "restarting", "configuring",
    "switching_over", "failing_over", "failed"],
};

/** What the toast says once the server has accepted an action. */
const PROGRESS = {
  stop: "stopping", start: "starting", restart: "restarting",
  switchover: "switching over to the least lagging standby",
};

export function instancePage(main, name) {
  const notice = h("div", {});
  const head = h("div", { class: "page-head" }, h("h1", {}, name));
  const overview = h("div", {});
  const chart = h("div", { class: "card-body chart" });
  const events = h("div", {});
  const operations = h("div", {});
  const backups = backupsCard(name);
  const labels = labelsCard(name);
  const parameters = parametersCard(name);
  const log = serverLogCard(name);
  replace(main,
    h("div", { class: "crumbs" }, link("#/instances", "Instances"), " / ", name),
    head, notice, overview,
    labels.element,
    h("div", { class: "grid spaced" },
      card(["Health", h("span", { class: "hint" }, `last ${HEALTH_POINTS} checks`)], chart),
      card("Events", events)),
    backups.element,
    parameters.element,
    log.element,
    card("Operations", operations),
  );
  const act = (action, button) => runAction(name, action, notice, button);
  let headShows = "";
  const stopPolling = every(REFRESH_MS, async () => {
    let instance;
    try {
      instance = await api.instance(name);
    } catch (error) {
      replace(overview, banner("error", error.status === 404
        ? `There is no instance named ${name}: it may have been deleted.`
        : `Could not load ${name}: ${error.message}`));
      return;
    }
    // Redrawn only when it changes, so a button keeps its focus (and a click its target).
    const shows = `${instance.state}/${instance.health.status}`;
    if (shows !== headShows) {
      headShows = shows;
      replace(head, h("h1", {}, name), pill(instance.state), pill(instance.health.status),
        h("span", { class: "spacer" }), buttons(instance, act));
    }
    replace(overview, details(instance));
    labels.refresh(instance);
    parameters.refresh(instance);
    log.refresh(instance);
    const [health, history, ops] = await Promise.allSettled([
      api.health(name, HEALTH_POINTS), api.events(name), api.operations({ instance: name, limit: 15 }),
      backups.refresh(instance),
    ]);
    replace(chart, health.status === "fulfilled" ? healthChart(health.value.checks) : failed(health));
    replace(events, history.status === "fulfilled" ? eventList(history.value) : failed(history));
    replace(operations, ops.status === "fulfilled" ? operationTable(ops.value.operations) : failed(ops));
  });
  return () => {
    stopPolling();
    log.stop();
  };
}

function failed(settled) {
  return h("div", { class: "card-body" }, banner("error", settled.reason.message));
}

function buttons(instance, act) {
  const button = (action, label, extra = "") => h("button", {
    class: extra, "data-test": `action-${action}`,
    disabled: !ALLOWED[action].includes(instance.state),
    onclick: (event) => act(action, event.currentTarget),
  }, label);
  return h("div", { class: "actions" },
    button("stop", "Stop"), button("start", "Start"), button("restart", "Restart"),
    instance.standbys > 0 ? button("switchover", "Switch over") : null,
    button("delete", "Delete", "danger"));
}

async function runAction(name, action, notice, button) {
  if (action === "delete") return confirmDelete(name, notice);
  replace(notice);
  button.disabled = true;
  try {
    await (action === "switchover" ? api.switchover(name) : api.power(name, action));
    toast(`${name}: ${PROGRESS[action]}.`);
  } catch (error) {
    replace(notice, banner("error", error.message));
    button.disabled = false;
  }
}

function confirmDelete(name, notice) {
  const typed = h("input", { id: "confirm-name", autocomplete: "off", placeholder: name, "data-test": "confirm-name" });
  const remove = h("button", { class: "danger solid", disabled: true, "data-test": "confirm-delete" }, "Delete instance");
  const close = () => backdrop.remove();
  typed.addEventListener("input", () => { remove.disabled = typed.value !== name; });
  remove.addEventListener("click", async () => {
    remove.disabled = true;
    try {
      await api.remove(name);
      close();
      toast(`Deleting ${name}. Its backups, if any, are kept.`);
      location.hash = "#/instances";
    } catch (error) {
      close();
      replace(notice, banner("error", error.message));
    }
  });
  const backdrop = h("div", {
    class: "backdrop",
    onclick: (event) => event.target === backdrop && close(),
    onkeydown: (event) => event.key === "Escape" && close(),
  },
  h("div", { class: "dialog", role: "dialog", "aria-modal": "true", "aria-labelledby": "confirm-title" },
    h("h2", { id: "confirm-title" }, `Delete ${name}?`),
    h("p", {}, "The instance and its data directory are removed; this cannot be undone."),
    h("label", { for: "confirm-name" }, "Type its name to confirm"),
    typed,
    h("div", { class: "actions" }, h("button", { onclick: close }, "Cancel"), remove)));
  document.body.append(backdrop);
  typed.focus();
}

/** The servers of an instance with standbys, primary first, as they answer now. */
function members(instance) {
  if (!instance.members?.length) return null;
  const commits = instance.synchronous ? "commits wait for a standby" : "asynchronous";
  return card(["Members", h("span", { class: "hint" }, commits)],
    h("table", { "data-test": "members" },
      h("thead", {}, h("tr", {},
        ["Member", "Role", "Address", "State", "Lag", "Timeline"].map((title) => h("th", {}, title)))),
      h("tbody", {}, instance.members.map((member) => h("tr", { "data-member": member.name },
        h("td", { class: "mono" }, member.name),
        h("td", { "data-role": member.role }, member.role),
        h("td", { class: "mono" }, `${member.host}:${member.port}`),
        h("td", {}, pill(member.state)),
        h("td", { class: "num" }, member.lag_bytes === null ? "—" : `${member.lag_bytes} B`),
        h("td", { class: "num" }, member.timeline ?? "—"))))));
}

function details(instance) {
  const endpoint = instance.endpoint;
  const inProgress = [instance.create_orchestration, instance.delete_orchestration, instance.operation]
    .filter((operation) => operation?.status === "running");
  return h("div", { class: "grid spaced" },
    card("Connection", h("div", { class: "card-body" }, endpoint
      ? h("dl", { class: "facts" },
        h("dt", {}, "Host"), h("dd", { class: "mono", "data-test": "endpoint" }, `${endpoint.host}:${endpoint.port}`),
        h("dt", {}, "User"), h("dd", { class: "mono" }, endpoint.user),
        h("dt", {}, "Database"), h("dd", { class: "mono" }, endpoint.database),
        h("dt", {}, "psql"), h("dd", { class: "mono small" },
          `psql "host=${endpoint.host} port=${endpoint.port} user=${endpoint.user} dbname=${endpoint.database} sslmode=verify-full sslrootcert=ca.crt"`),
        h("dt", {}, "CA"), h("dd", { class: "muted-text" }, "ca.crt: toygres-cli ca-certificate --file ca.crt"),
        h("dt", {}, "Password"), h("dd", { class: "muted-text" }, "toygres-cli connection-string ", instance.name),
        h("dt", {}, "Superuser"), h("dd", { "data-test": "superuser-access" }, superuserAccess(instance)))
      : h("div", { class: "muted-text" }, "No endpoint yet: it appears once the instance is deployed."))),
    card("Instance", h("div", { class: "card-body" }, h("dl", { class: "facts" },
      h("dt", {}, "State"), h("dd", { "data-test": "state" }, pill(instance.state)),
      h("dt", {}, "Health"), h("dd", {}, pill(instance.health.status), " ",
        h("span", { class: "muted-text small" }, `checked ${ago(instance.health.last_checked_at)}`),
        instance.health.reason ? h("div", { class: "message", "data-test": "health-reason" }, instance.health.reason) : null),
      h("dt", {}, "PostgreSQL"), h("dd", {}, instance.postgres_version),
      h("dt", {}, "Storage"), h("dd", {}, `${instance.storage_gb} GB on ${instance.platform}`),
      h("dt", {}, "Created"), h("dd", {}, timestamp(instance.created_at)),
      h("dt", {}, "In progress"), h("dd", {}, inProgress.length
        ? inProgress.map((operation) => h("div", {}, link(operationHref(operation.id), operation.step ?? operation.id)))
        : h("span", { class: "muted-text" }, "nothing")),
      instance.last_error ? [h("dt", {}, "Last error"), h("dd", { class: "kind-failed" }, instance.last_error)] : null,
    ))),
    members(instance),
  );
}

/** Whether the tenant has the superuser's login, and in one sentence what that gives away. */
function superuserAccess(instance) {
  return instance.superuser_access
    ? [pill("on"), " ", h("span", { class: "small" },
      "Whoever has the superuser login can read and change everything in this instance and run programs as its OS account (toygres-cli superuser-access ", instance.name, " off).")]
    : [pill("off"), " ", h("span", { class: "muted-text small" },
      "The owner cannot read the server's files or run programs.")];
}

/** State transitions and changes of health, newest first. */
function eventList({ events, health = [] }) {
  const entries = [
    ...events.map((event) => ({ at: event.at, from: event.from, to: event.to, operation: event.operation, message: event.message })),
    ...health.map((change) => ({ at: change.at, label: "health", from: change.from, to: change.to, message: change.reason })),
  ].sort((a, b) => a.at.localeCompare(b.at));
  if (entries.length === 0) return h("div", { class: "empty" }, "No state changes yet.");
  return h("ol", { class: "events", "data-test": "events" }, entries.reverse().map((entry) =>
    h("li", {},
      h("span", { class: "when", title: entry.at }, timestamp(entry.at)),
      h("div", { class: "what" },
        entry.label ? h("span", { class: "muted-text small" }, entry.label) : null,
        entry.from ? [pill(entry.from), "→"] : null, pill(entry.to),
        entry.operation ? link(operationHref(entry.operation), "operation") : null,
        entry.message ? h("div", { class: "message" }, entry.message) : null))));
}
