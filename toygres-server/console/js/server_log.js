// An instance's own PostgreSQL server log, followed as `toygres-cli logs NAME --follow`
// does: its last lines, then what the server writes, in one answer that streams on. The
// log holds what the tenant's server and its clients put there, so a line only ever
// becomes a text node. The panel keeps the newest lines only, scrolls along only while the
// reader is at the bottom, and aborts its request when the page is left, so that no
// answer stays open behind the reader's back.

import { api } from "./api.js";
import { card, h } from "./dom.js";

/** Lines asked for when the follow begins. */
const TAIL = 200;
/** Lines kept on the page; older ones are dropped as new ones come. */
const MAX_LINES = 2000;
/** How close to the bottom (in pixels) still counts as reading the newest lines. */
const AT_BOTTOM = 8;

/** What the card's heading says of the follow. */
const SAYS = {
  waiting: "followed once it is deployed",
  following: `last ${TAIL} lines, then live`,
  ended: "the follow ended",
  failed: "not followed",
  stopped: "stopped",
};

export function serverLogCard(name) {
  const lines = h("div", {
    class: "server-log", role: "log", "aria-live": "off", "aria-label": `Server log of ${name}`,
    tabindex: "0", "data-test": "server-log",
  });
  const status = h("span", { class: "hint", "data-test": "server-log-status" });
  const again = h("button", { "data-test": "server-log-again", disabled: true, onclick: () => follow() },
    "Follow again");
  const element = card(["Server log", status, h("span", { class: "spacer" }), again], lines);
  let controller = null;
  let state = null;
  let left = false;
  following("waiting");

  function show(texts, kind) {
    const atBottom = lines.scrollHeight - lines.scrollTop - lines.clientHeight <= AT_BOTTOM;
    const batch = document.createDocumentFragment();
    for (const text of texts.slice(-MAX_LINES)) {
      batch.append(h("div", { class: kind ? `line ${kind}` : "line" }, text));
    }
    lines.append(batch);
    const height = lines.scrollHeight;
    while (lines.childElementCount > MAX_LINES) lines.firstElementChild.remove();
    // Where the reader is, the same lines stay in view as older ones above them go.
    if (atBottom) lines.scrollTop = lines.scrollHeight;
    else lines.scrollTop -= height - lines.scrollHeight;
  }

  function following(now) {
    status.textContent = SAYS[now];
    element.dataset.follow = now;
    again.disabled = left || !(now === "ended" || now === "failed");
  }

  async function follow() {
    if (left) return;
    controller?.abort();
    const mine = new AbortController();
    controller = mine;
    lines.replaceChildren();
    following("following");
    try {
      const response = await api.followLog(name, TAIL, mine.signal);
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let partial = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        const complete = (partial + decoder.decode(value, { stream: true })).split("\n");
        partial = complete.pop();
        if (complete.length) show(complete);
      }
      partial += decoder.decode();
      if (partial) show([partial]);
      show(["The log can no longer be read: the follow ended."], "note");
      following("ended");
    } catch (error) {
      if (mine.signal.aborted) return;
      show([`Could not follow the log: ${error.message}`], "error");
      following("failed");
    }
  }

  /** Begins the follow once something is deployed, and again when the state changes after
   * a follow ended (a started instance, say). */
  function refresh(instance) {
    const was = state;
    state = instance.state;
    if (state === was || state === "creating") return;
    if (element.dataset.follow !== "following") follow();
  }

  /** Ends the follow for good: the page is being left. */
  function stop() {
    left = true;
    controller?.abort();
    following("stopped");
  }

  return { element, refresh, stop };
}
