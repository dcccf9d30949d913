// Restoring into a new instance: a dialog with the new instance's name and, optionally, a
// moment to replay up to, picked in the reader's local time and bounded by what can be
// restored (from the backup's end, or the first backup's, until the archive's end: now
// while the source lives). It creates with `from_backup` (one backup) or `from_instance`
// (the source's whole restorable past) the way the CLI's `create --from-backup/--from`
// does; the server checks everything again and its refusal is shown in the dialog.

import { api } from "./api.js";
import { banner, h, instanceHref, replace, timestamp, toast } from "./dom.js";

/**
 * `source`: the instance's name; `backup`: the backup to restore (none: the source's
 * newest before the moment); `earliest`, `latest`: what can be restored (`latest` none: now).
 */
export function restoreDialog({ source, backup = null, earliest, latest }) {
  const from = earliestSecond(earliest);
  const until = latestSecond(latest);
  const open = from !== null && from <= until;
  const name = h("input", { id: "restore-name", required: true, autocomplete: "off", placeholder: `${source}-copy`, "data-test": "restore-name" });
  const at = h("input", {
    id: "restore-at", type: "datetime-local", step: "1", disabled: !open,
    min: open ? local(from) : undefined, max: open ? local(until) : undefined, "data-test": "restore-at",
  });
  const notice = h("div", {});
  const submit = h("button", { class: "primary", type: "submit", "data-test": "restore-submit" }, "Restore");
  const close = () => backdrop.remove();
  const form = h("form", {
    class: "dialog", role: "dialog", "aria-modal": "true", "aria-labelledby": "restore-title",
    onsubmit: (event) => restore(event, { source, backup, name, at, submit, notice, close }),
  },
  h("h2", { id: "restore-title" }, backup ? `Restore backup ${backup.label ?? backup.id}` : `Restore ${source} to a moment`),
  h("p", {}, "Into a new instance of its own, with its own password and port; ", source, " is not touched."),
  notice,
  h("label", { for: "restore-name" }, "Name of the new instance"),
  name,
  h("label", { for: "restore-at", class: "spaced-label" }, "Moment ", h("span", { class: "optional" }, "(optional, your local time)")),
  at,
  h("div", { class: "field-help", "data-test": "restore-window" }, open
    ? `Between ${timestamp(from)} and ${timestamp(until)}. Empty: ${backup ? "the data as this backup took it" : "the latest state there is"}.`
    : `No moment can be picked yet. Empty: ${backup ? "the data as this backup took it" : "the latest state there is"}.`),
  h("div", { class: "actions" }, h("button", { type: "button", onclick: close }, "Cancel"), submit));
  const backdrop = h("div", {
    class: "backdrop",
    onclick: (event) => event.target === backdrop && close(),
    onkeydown: (event) => event.key === "Escape" && close(),
  }, form);
  document.body.append(backdrop);
  name.focus();
}

async function restore(event, { source, backup, name, at, submit, notice, close }) {
  event.preventDefault();
  replace(notice);
  submit.disabled = true;
  const request = { name: name.value.trim() };
  if (backup) request.from_backup = backup.id;
  else request.from_instance = source;
  // A datetime-local value has no zone: the Date constructor reads it as local time.
  if (at.value) request.at = new Date(at.value).toISOString();
  try {
    await api.create(request);
    close();
    toast(`Restoring ${source} into ${request.name}: it shows as running once it has recovered.`);
    location.hash = instanceHref(request.name);
  } catch (error) {
    replace(notice, banner("error", error.message));
    submit.disabled = false;
  }
}

/** The first whole second at or after `iso` (a restore may not start before it). */
function earliestSecond(iso) {
  if (!iso) return null;
  return new Date(Math.ceil(new Date(iso).getTime() / 1000) * 1000);
}

/** The last whole second at or before `iso`, or now. */
function latestSecond(iso) {
  const time = iso ? new Date(iso).getTime() : Date.now();
  return new Date(Math.floor(time / 1000) * 1000);
}

/** A moment as a datetime-local input writes it: `2026-12-07T14:03:09`, local time. */
function local(date) {
  const two = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())}` +
    `T${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}`;
}
