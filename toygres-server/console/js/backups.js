// An instance's backups on its page: every backup of the name (a name can be reused, so
// earlier instances' backups are listed too, marked as such), the button that takes one,
// its schedule, and the ways to restore into a new instance: from one backup, or to a
// moment of this instance's restorable past. Built once; `refresh` redraws the list and
// leaves the forms as the reader has them.

import { api } from "./api.js";
import { scheduleForm } from "./backup_schedule.js";
import { banner, card, h, pill, replace, timestamp, toast } from "./dom.js";
import { restoreDialog } from "./restore.js";

export function backupsCard(name) {
  const notice = h("div", {});
  const list = h("div", {});
  const schedule = scheduleForm(name, notice);
  let shown = { instance: null, backups: [] };
  const take = h("button", {
    "data-test": "take-backup", disabled: true,
    onclick: () => takeBackup(name, take, notice),
  }, "Take a backup");
  const toMoment = h("button", {
    "data-test": "restore-moment", disabled: true,
    onclick: () => restoreDialog({ source: name, ...restorableWindow(ours(shown)) }),
  }, "Restore to a moment…");
  const element = card(["Backups", h("span", { class: "spacer" }), toMoment, take],
    h("div", { class: "card-body" }, notice, schedule.element), list);

  async function refresh(instance) {
    const [backups, settings] = await Promise.allSettled([api.backups(name), api.schedule(name)]);
    if (backups.status === "rejected") {
      take.disabled = toMoment.disabled = true;
      schedule.unavailable();
      const unsupported = backups.reason.code === "unsupported_on_platform";
      replace(list, h("div", { class: "card-body" }, unsupported
        ? h("div", { class: "muted-text", "data-test": "backups-unsupported" }, backups.reason.message)
        : banner("error", backups.reason.message)));
      return;
    }
    shown = { instance, backups: backups.value.backups };
    take.disabled = instance.state !== "running";
    toMoment.disabled = ours(shown).length === 0;
    if (settings.status === "fulfilled") schedule.show(settings.value);
    else schedule.unavailable(settings.reason.message);
    replace(list, shown.backups.length
      ? table(shown, (backup) => restoreDialog({ source: name, backup, ...restorableWindow([backup]) }))
      : h("div", { class: "empty" }, "No backups yet."));
  }
  return { element, refresh };
}

async function takeBackup(name, button, notice) {
  replace(notice);
  button.disabled = true;
  try {
    const { backup } = await api.backUp(name);
    toast(`Backing up ${name}: backup ${backup.id} is running.`);
  } catch (error) {
    replace(notice, banner("error", error.message));
    button.disabled = false;
  }
}

/** The completed backups of the instance the page shows (not of an earlier one of its name), oldest first. */
function ours({ instance, backups }) {
  if (!instance) return [];
  return backups
    .filter((backup) => backup.state === "completed" && !earlier(backup, instance))
    .sort((a, b) => time(a.finished_at) - time(b.finished_at));
}

const time = (iso) => new Date(iso).getTime();

/** Taken of an earlier instance that had this name. */
function earlier(backup, instance) {
  return time(backup.started_at) < time(instance.created_at);
}

/** From the first backup's end until the newest one's `restorable_until` (none: now). */
function restorableWindow(completed) {
  const newest = completed[completed.length - 1];
  return {
    earliest: completed[0]?.finished_at ?? null,
    latest: newest?.restorable_until ?? null,
  };
}

function table({ instance, backups }, restore) {
  return h("table", { "data-test": "backups" },
    h("thead", {}, h("tr", {},
      ["Started", "State", "Taken", "Size", "Restorable", "Label", ""].map((title) => h("th", {}, title)))),
    h("tbody", {}, backups.map((backup) => h("tr", { "data-backup": backup.id },
      h("td", { class: "nowrap", title: backup.started_at }, timestamp(backup.started_at)),
      h("td", {}, pill(backup.state, { busy: backup.state === "running" }),
        backup.error ? h("div", { class: "message kind-failed small" }, backup.error) : null),
      h("td", { class: "muted-text" }, backup.scheduled ? "by the schedule" : "on request",
        earlier(backup, instance) ? h("div", { class: "small" }, `of an earlier ${backup.instance}`) : null),
      h("td", { class: "num" }, size(backup.size_bytes)),
      h("td", { class: "small" }, restorable(backup)),
      h("td", { class: "mono small muted-text" }, backup.label ?? "—"),
      h("td", {}, backup.state === "completed"
        ? h("button", { "data-test": "restore-backup", onclick: () => restore(backup) }, "Restore…")
        : null)))));
}

function restorable(backup) {
  if (backup.state !== "completed") return h("span", { class: "muted-text" }, "—");
  return [timestamp(backup.finished_at), " → ",
    backup.restorable_until ? timestamp(backup.restorable_until) : "now"];
}

function size(bytes) {
  if (bytes === null || bytes === undefined) return "—";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}
