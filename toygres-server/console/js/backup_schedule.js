// An instance's backup schedule: what it is now (a sentence, redrawn as the page
// refreshes), and a form that sets it (a backup every so many minutes, hours or days, the
// newest so many kept) or ends it. The form is drawn once, so polling never takes away
// what the reader is typing; the server checks the ranges and says what is wrong.

import { api } from "./api.js";
import { banner, h, replace, toast } from "./dom.js";

const UNITS = [["days", 86400], ["hours", 3600], ["minutes", 60]];

/** `86400` as "1 day", `5400` as "90 minutes", `7` as "7 seconds". */
export function interval(seconds) {
  for (const [unit, size] of [...UNITS, ["seconds", 1]]) {
    if (seconds % size === 0) {
      const count = seconds / size;
      return `${count} ${count === 1 ? unit.slice(0, -1) : unit}`;
    }
  }
  return `${seconds} seconds`;
}

export function scheduleForm(name, notice) {
  const status = h("span", { "data-test": "schedule-status", "data-schedule": "unknown" }, "…");
  const every = h("input", { id: "schedule-every", type: "number", min: "1", required: true, value: "1", "data-test": "schedule-every" });
  const unit = h("select", { id: "schedule-unit", "data-test": "schedule-unit" },
    UNITS.map(([label, size]) => h("option", { value: size }, label)));
  const keep = h("input", { id: "schedule-keep", type: "number", min: "1", max: "1000", required: true, value: "7", "data-test": "schedule-keep" });
  const set = h("button", { type: "submit", "data-test": "schedule-set" }, "Set schedule");
  const end = h("button", { type: "button", class: "danger", disabled: true, "data-test": "schedule-end" }, "End schedule");
  let prefilled = false;

  const show = (view) => {
    const schedule = view.schedule;
    status.dataset.schedule = schedule ? `${schedule.every_secs}/${schedule.keep}` : "none";
    replace(status, schedule
      ? `Every ${interval(schedule.every_secs)}, keeping the newest ${schedule.keep}.`
      : "None: backups are taken on request only.");
    end.disabled = !schedule;
    set.disabled = false;
    if (schedule && !prefilled) fill(schedule);
    prefilled = true;
  };
  const fill = ({ every_secs, keep: kept }) => {
    const [, size] = UNITS.find(([, size]) => every_secs % size === 0) ?? UNITS[UNITS.length - 1];
    every.value = String(Math.max(1, Math.round(every_secs / size)));
    unit.value = String(size);
    keep.value = String(kept);
  };
  const act = async (button, call, said) => {
    replace(notice);
    button.disabled = true;
    try {
      const view = await call();
      show(view);
      toast(said(view));
    } catch (error) {
      replace(notice, banner("error", error.message));
      button.disabled = false;
    }
  };
  end.addEventListener("click", () =>
    act(end, () => api.endSchedule(name), () => `${name}: the schedule has ended; its backups stay.`));
  const form = h("form", {
    class: "schedule",
    onsubmit: (event) => {
      event.preventDefault();
      act(set, () => api.setSchedule(name, Number(every.value) * Number(unit.value), Number(keep.value)),
        (view) => `${name}: a backup every ${interval(view.schedule.every_secs)}.`);
    },
  },
  h("div", { class: "schedule-now" }, h("strong", {}, "Schedule: "), status),
  h("div", { class: "schedule-fields" },
    h("div", {}, h("label", { for: "schedule-every" }, "Every"), every),
    h("div", {}, h("label", { for: "schedule-unit" }, "Unit"), unit),
    h("div", {}, h("label", { for: "schedule-keep" }, "Keep the newest"), keep),
    h("div", { class: "actions" }, set, end)));

  /** No schedule can be shown or set (the instance is gone, or the platform has no backups). */
  const unavailable = (message = "") => {
    status.dataset.schedule = "unknown";
    replace(status, h("span", { class: "muted-text" }, message || "—"));
    set.disabled = end.disabled = true;
  };
  return { element: form, show, unavailable };
}
