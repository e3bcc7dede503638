// vlm-reward labelling page: plain JS, no build step.
// State lives on the server (SQLite); this page only remembers the rater name (localStorage)
// and the current position (URL hash), so a reload lands on the same item with all answers.
"use strict";

const RATER_RE = /^[A-Za-z0-9][A-Za-z0-9 ._\-]{0,63}$/;
const LABEL_TEXT = { success: "✓ success", failure: "✗ failure", unsure: "? unsure" };

const state = {
  info: null,
  rater: null,
  order: [],        // position -> item index
  labels: {},       // item index (string) -> label
  position: 0,
  item: null,
  saving: false,
};

const $ = (id) => document.getElementById(id);

async function api(path, options) {
  const response = await fetch(path, options);
  let body = null;
  try { body = await response.json(); } catch (_) { body = null; }
  if (!response.ok) {
    const detail = body && body.detail;
    const text = typeof detail === "string" ? detail
      : Array.isArray(detail) ? detail.map((d) => d.msg).join("; ") : response.statusText;
    throw new Error(text || `HTTP ${response.status}`);
  }
  return body;
}

function show(id, visible) { $(id).hidden = !visible; }

function setStatus(text, kind) {
  const el = $("status");
  el.textContent = text;
  el.className = "status " + (kind || "");
}

function showProblem(title, text) {
  $("problem-title").textContent = title;
  $("problem-text").textContent = text;
  show("problem", true);
  show("labeller", false);
  show("rater-form-card", false);
}

function positionFromHash() {
  const match = /item=(\d+)/.exec(window.location.hash);
  return match ? Math.max(0, parseInt(match[1], 10) - 1) : null;
}

function firstUnlabelled(from) {
  const n = state.order.length;
  for (let k = 0; k < n; k++) {
    const pos = (from + k) % n;
    if (!(String(state.order[pos]) in state.labels)) return pos;
  }
  return null;
}

function renderProgress() {
  const done = Object.keys(state.labels).length;
  const total = state.order.length;
  $("progress-text").textContent = `${done} / ${total} labelled`;
  $("progress-fill").style.width = total ? `${(100 * done) / total}%` : "0%";
}

async function renderRaters() {
  try {
    const result = await api("/api/raters");
    const parts = Object.entries(result.raters).map(([name, n]) => `${name} ${n}`);
    $("raters-line").textContent = parts.length ? `raters: ${parts.join(" · ")}` : "";
  } catch (_) { /* informational only */ }
}

function renderAnswer() {
  const label = state.item ? state.labels[String(state.item.index)] : undefined;
  for (const button of document.querySelectorAll(".answer")) {
    button.classList.toggle("chosen", button.dataset.label === label);
    button.setAttribute("aria-pressed", button.dataset.label === label ? "true" : "false");
  }
  const current = $("current-answer");
  current.textContent = label ? `your answer: ${LABEL_TEXT[label]}` : "not labelled yet";
  current.className = "current " + (label || "");
  $("btn-prev").disabled = state.position <= 0;
  $("btn-next").disabled = state.position >= state.order.length - 1;
}

function renderMedia(item) {
  const box = $("media");
  box.textContent = "";
  let el;
  if (item.media_type === "video") {
    el = document.createElement("video");
    el.controls = true; el.autoplay = true; el.loop = true; el.muted = true;
    el.playsInline = true;
    el.addEventListener("error", () => {
      setStatus("this browser cannot play the video; use the link below it", "error");
      const link = document.createElement("a");
      link.href = item.url; link.textContent = "open the video file"; link.target = "_blank";
      box.appendChild(link);
    });
  } else {
    el = document.createElement("img");
    el.alt = item.caption;
    // Small renders are enlarged with crisp pixels; large ones are scaled smoothly.
    el.addEventListener("load", () =>
      el.classList.toggle("upscaled", el.clientWidth > el.naturalWidth));
  }
  el.id = "item-media";
  el.src = item.url;
  box.appendChild(el);
}

async function goTo(position) {
  const total = state.order.length;
  position = Math.min(Math.max(0, position), total - 1);
  const item = await api(`/api/items/${position}`);
  state.position = position;
  state.item = item;
  renderMedia(item);
  $("caption").textContent = item.caption;
  $("position").textContent = `item ${position + 1} of ${total}`;
  history.replaceState(null, "", `${window.location.search}#item=${position + 1}`);
  renderAnswer();
  prefetch(position + 1);
}

async function prefetch(position) {
  if (position >= state.order.length) return;
  try {
    const next = await api(`/api/items/${position}`);
    if (next.media_type === "image") { const img = new Image(); img.src = next.url; }
  } catch (_) { /* a missed prefetch only costs time */ }
}

async function answer(label) {
  if (state.saving || !state.item) return;
  state.saving = true;
  const item = state.item;
  setStatus("saving…", "");
  try {
    const saved = await api("/api/labels", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ rater: state.rater, index: item.index, label }),
    });
    state.labels[String(saved.index)] = saved.label;
    renderProgress();
    renderAnswer();
    renderRaters();
    setStatus(`saved: ${item.caption} → ${saved.label}`, "ok");
    if (state.position < state.order.length - 1) {
      await goTo(state.position + 1);
    } else if (firstUnlabelled(0) === null) {
      setStatus("all items labelled — thank you! Export the CSV from the top bar.", "ok");
    }
  } catch (err) {
    setStatus(`not saved: ${err.message}`, "error");
  } finally {
    state.saving = false;
  }
}

async function startLabelling() {
  show("rater-form-card", false);
  $("rater-name").textContent = state.rater;
  const url = new URL(window.location.href);
  url.searchParams.set("rater", state.rater);
  history.replaceState(null, "", url);
  show("rater-box", true);
  const [order, mine] = await Promise.all([
    api("/api/order"),
    api(`/api/labels?rater=${encodeURIComponent(state.rater)}`),
  ]);
  state.order = order.indices;
  state.labels = mine.labels;
  show("labeller", true);
  renderProgress();
  renderRaters();
  const fromHash = positionFromHash();
  const start = fromHash !== null && fromHash < state.order.length ? fromHash
    : (firstUnlabelled(0) ?? 0);
  await goTo(start);
}

function askRater() {
  show("labeller", false);
  show("rater-box", false);
  show("rater-form-card", true);
  const input = $("rater-input");
  input.value = state.rater || "";
  input.focus();
}

async function nextUnlabelled() {
  const p = firstUnlabelled(state.position);
  if (p === null) {
    setStatus("every item has your answer — export the CSV from the top bar", "ok");
  } else {
    await goTo(p);
  }
}

function onKey(event) {
  if (event.target && ["INPUT", "TEXTAREA"].includes(event.target.tagName)) return;
  if (event.ctrlKey || event.metaKey || event.altKey || $("labeller").hidden) return;
  const key = event.key.toLowerCase();
  const actions = {
    s: () => answer("success"), 1: () => answer("success"),
    f: () => answer("failure"), 2: () => answer("failure"),
    u: () => answer("unsure"), 3: () => answer("unsure"),
    arrowleft: () => goTo(state.position - 1),
    arrowright: () => goTo(state.position + 1),
    n: () => nextUnlabelled(),
  };
  if (key in actions) {
    event.preventDefault();
    Promise.resolve(actions[key]()).catch((err) => setStatus(err.message, "error"));
  }
}

async function init() {
  let info;
  try {
    info = await api("/api/info");
  } catch (err) {
    showProblem("The labelling server is not answering", err.message);
    return;
  }
  state.info = info;
  $("dataset-name").textContent = info.name ? `${info.name}` +
    (info.unit ? ` · ${info.total} ${info.unit}${info.total === 1 ? "" : "s"}` : "") : "";
  if (info.error) {
    showProblem("Nothing to label", info.error);
    return;
  }
  $("task-text").textContent = info.task ||
    "(no task sentence recorded — restart with --task \"…\")";
  document.querySelectorAll(".answer").forEach((b) =>
    b.addEventListener("click", () => answer(b.dataset.label)));
  $("btn-prev").addEventListener("click", () => goTo(state.position - 1));
  $("btn-next").addEventListener("click", () => goTo(state.position + 1));
  $("btn-unlabelled").addEventListener("click", () =>
    nextUnlabelled().catch((err) => setStatus(err.message, "error")));
  $("change-rater").addEventListener("click", askRater);
  $("rater-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const name = $("rater-input").value.trim();
    if (!RATER_RE.test(name)) return;
    state.rater = name;
    localStorage.setItem("vlm-reward-rater", name);
    // A new rater starts at their own first unlabelled item, not at the previous place.
    history.replaceState(null, "", window.location.pathname + window.location.search);
    startLabelling().catch((err) => setStatus(err.message, "error"));
  });
  document.addEventListener("keydown", onKey);

  const fromUrl = new URLSearchParams(window.location.search).get("rater");
  const name = fromUrl || info.default_rater || localStorage.getItem("vlm-reward-rater");
  if (name && RATER_RE.test(name)) {
    state.rater = name;
    await startLabelling();
  } else {
    askRater();
  }
}

document.addEventListener("DOMContentLoaded", () => {
  init().catch((err) => showProblem("Something went wrong", err.message));
});
