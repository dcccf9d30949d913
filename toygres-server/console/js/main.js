// The console's entry point: sign-in, the frame around every page, and the router that
// maps `#/...` to a page. A page is a function that fills an element and returns how to
// stop it (its polling), called when the reader leaves. A page's own state (the instances
// page's label selector) rides in the hash after `?`.

import { ApiError, api, onUnauthorized, session } from "./api.js";
import { h, replace } from "./dom.js";
import { instancesPage } from "./instances.js";
import { instancePage } from "./instance.js";
import { operationsPage } from "./operations.js";
import { operationPage } from "./operation.js";

const app = document.getElementById("app");
let leave = () => {};
let signInNotice = null;

const ROUTES = [
  [/^#\/instances\/([^/]+)$/, (main, name) => instancePage(main, name)],
  [/^#\/instances$/, (main, search) => instancesPage(main, search)],
  [/^#\/operations\/([^/]+)$/, (main, id) => operationPage(main, id)],
  [/^#\/operations$/, (main) => operationsPage(main)],
];

/** A path segment as written in the hash; `null` when it is not valid percent-encoding. */
function decoded(segment) {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

/** `#/instances?selector=team%3Dweb` as its path and its parameters (a page's state, kept
 * in the hash so that a reload or a shared link shows the same). */
function splitQuery(hash) {
  const at = hash.indexOf("?");
  if (at < 0) return [hash, new URLSearchParams()];
  return [hash.slice(0, at), new URLSearchParams(hash.slice(at + 1))];
}

function route() {
  leave();
  leave = () => {};
  document.querySelectorAll(".backdrop").forEach((dialog) => dialog.remove());
  if (!session.token()) return showSignIn();
  const hash = location.hash || "#/instances";
  const [path, search] = splitQuery(hash);
  for (const [pattern, page] of ROUTES) {
    const match = path.match(pattern);
    const segments = match?.slice(1).map(decoded);
    if (segments && !segments.includes(null)) return showPage(hash, (main) => page(main, ...segments, search));
  }
  location.replace("#/instances");
}

function showPage(hash, page) {
  const section = hash.startsWith("#/operations") ? "operations" : "instances";
  const main = h("main", {});
  replace(app, frame(section), main);
  leave = page(main) ?? (() => {});
}

function frame(section) {
  const nav = (name, label) =>
    h("a", { href: `#/${name}`, class: section === name ? "active" : "", "data-test": `nav-${name}` }, label);
  return h("header", { class: "topbar" },
    h("a", { class: "brand", href: "#/instances" }, h("span", { class: "brand-mark" }, "T"), "Toygres"),
    h("nav", { class: "nav" }, nav("instances", "Instances"), nav("operations", "Operations")),
    h("button", { class: "sign-out", "data-test": "sign-out", onclick: signOut }, "Sign out"),
  );
}

function signOut() {
  session.signOut();
  signInNotice = "You have signed out.";
  route();
}

function showSignIn() {
  const token = h("input", {
    id: "token", type: "password", autocomplete: "current-password", required: true,
    placeholder: "The server's API token", "data-test": "token",
  });
  const message = h("div", {});
  if (signInNotice) replace(message, h("div", { class: "banner info" }, signInNotice));
  signInNotice = null;
  const submit = h("button", { class: "primary", type: "submit", "data-test": "sign-in" }, "Sign in");
  const form = h("form", { onsubmit: (event) => signIn(event, token, submit, message) },
    message,
    h("label", { for: "token" }, "API token"),
    token,
    h("div", { class: "field-help" }, "Kept in this browser tab only, until you sign out or close it."),
    submit,
  );
  replace(app, h("div", { class: "sign-in" },
    h("section", { class: "card" }, h("div", { class: "card-body" },
      h("div", { class: "brand" }, h("span", { class: "brand-mark" }, "T"), "Toygres"),
      h("h1", {}, "Sign in to the console"),
      h("p", {}, "Managed PostgreSQL: your instances, their health and every operation."),
      form,
    )),
  ));
  token.focus();
}

async function signIn(event, input, submit, message) {
  event.preventDefault();
  const token = input.value.trim();
  submit.disabled = true;
  try {
    await api.check(token);
    session.signIn(token);
    route();
  } catch (error) {
    const text = error instanceof ApiError && error.status === 401
      ? "That token was not accepted."
      : error.message;
    replace(message, h("div", { class: "banner error", role: "alert", "data-test": "sign-in-error" }, text));
    input.select();
  } finally {
    submit.disabled = false;
  }
}

onUnauthorized(() => {
  session.signOut();
  signInNotice = "The server no longer accepts this session's token: sign in again.";
  route();
});

window.addEventListener("hashchange", route);
route();
