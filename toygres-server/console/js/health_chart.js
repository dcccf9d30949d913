// An instance's recent health checks as a small SVG chart: connection latency over time,
// with failed checks marked in red along the top. Drawn from the API's data alone.

import { h } from "./dom.js";

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 560;
const HEIGHT = 170;
const PAD = { left: 44, right: 12, top: 14, bottom: 24 };

function svg(tag, attributes = {}, text) {
  const element = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  if (text !== undefined) element.textContent = text;
  return element;
}

/** `checks` newest first, as `GET /instances/{name}/health` answers. */
export function healthChart(checks) {
  if (checks.length === 0) {
    return h("div", { class: "empty" }, "No health checks yet: they begin once the instance runs.");
  }
  const points = checks.slice().reverse().map((check) => ({
    time: new Date(check.at).getTime(), ok: check.ok, latency: check.latency_ms,
  }));
  const first = points[0].time;
  const last = points[points.length - 1].time;
  const span = Math.max(last - first, 1);
  const measured = points.filter((point) => point.ok && point.latency !== null);
  const top = Math.max(5, ...measured.map((point) => point.latency)) * 1.15;
  const x = (time) => PAD.left + ((time - first) / span) * (WIDTH - PAD.left - PAD.right);
  const y = (latency) => HEIGHT - PAD.bottom - (latency / top) * (HEIGHT - PAD.top - PAD.bottom);
  const base = HEIGHT - PAD.bottom;

  const chart = svg("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", "aria-label": "Health check latency", "data-test": "health-chart" });
  for (const fraction of [0, 0.5, 1]) {
    const value = top * fraction;
    chart.append(svg("line", { class: "axis", x1: PAD.left, x2: WIDTH - PAD.right, y1: y(value), y2: y(value) }));
    chart.append(svg("text", { class: "label", x: PAD.left - 6, y: y(value) + 4, "text-anchor": "end" }, `${Math.round(value)} ms`));
  }
  if (measured.length > 0) {
    const line = measured.map((point) => `${x(point.time).toFixed(1)},${y(point.latency).toFixed(1)}`);
    chart.append(svg("path", { class: "area", d: `M${x(measured[0].time)},${base} L${line.join(" L")} L${x(measured[measured.length - 1].time)},${base} Z` }));
    chart.append(svg("path", { class: "line", d: `M${line.join(" L")}` }));
    for (const point of measured) chart.append(svg("circle", { class: "ok-dot", cx: x(point.time), cy: y(point.latency), r: 2.5 }));
  }
  for (const point of points.filter((p) => !p.ok)) {
    chart.append(svg("circle", { class: "fail-dot", cx: x(point.time), cy: PAD.top, r: 4 }));
  }
  const clock = (time) => new Date(time).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  chart.append(svg("text", { class: "label", x: PAD.left, y: HEIGHT - 6 }, clock(first)));
  chart.append(svg("text", { class: "label", x: WIDTH - PAD.right, y: HEIGHT - 6, "text-anchor": "end" }, clock(last)));

  const failures = points.length - measured.length;
  const median = measured.length ? measured.map((p) => p.latency).sort((a, b) => a - b)[Math.floor(measured.length / 2)] : null;
  return h("div", {}, chart, h("div", { class: "legend" },
    h("span", {}, points.length === 1 ? "1 check" : `${points.length} checks`),
    h("span", {}, median === null ? "no latency yet" : `median ${median} ms`),
    h("span", { class: failures ? "kind-failed" : "" }, `${failures} failed`)));
}
