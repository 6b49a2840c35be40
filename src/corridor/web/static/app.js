"use strict";
// corridor workbench. The page only talks to the server's JSON API: scenarios are
// validated, runs computed, figures built and numbers rounded on the server, by
// the same library functions as the command line. Charts are drawn with the
// Plotly.js file the server ships from the installed plotly package.

const $ = (selector) => document.querySelector(selector);
const $$ = (selector) => Array.from(document.querySelectorAll(selector));

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const child of children.flat()) if (child !== null && child !== undefined) node.append(child);
  return node;
}

async function api(path, options = {}) {
  const response = await fetch(path, options);
  const isJson = (response.headers.get("content-type") || "").includes("application/json");
  const body = isJson ? await response.json() : await response.text();
  if (!response.ok) {
    const error = new Error(isJson && body.error ? body.error : `the server answered ${response.status}`);
    error.field = isJson ? body.field : null;
    throw error;
  }
  return body;
}
const postJson = (path, data) =>
  api(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(data) });

const state = {
  info: null,
  base: null, // the editor view of the scenario the edit starts from
  params: {}, // module.name -> parameter (control, bounds, unit, base value)
  values: {}, // module.name -> value, where the edit differs from the base
  events: [], // the full event list, as the server resolved it
  selectedEvent: null,
  valid: true,
  checkSeq: 0,
  checkTimer: null,
  followed: null, // the run whose results are shown
  jobStatus: {}, // run id -> last status seen, to notice a job finishing
  agentsTouched: false,
};

// ------------------------------------------------------------------ months

const monthIndex = (start, month) => {
  const [y0, m0] = start.split("-").map(Number);
  const [y1, m1] = month.split("-").map(Number);
  return (y1 - y0) * 12 + (m1 - m0);
};
const monthLabel = (start, t) => {
  const [y0, m0] = start.split("-").map(Number);
  const k = y0 * 12 + (m0 - 1) + t;
  return `${Math.floor(k / 12)}-${String((k % 12) + 1).padStart(2, "0")}`;
};
const horizon = () => monthIndex(state.base.start, state.base.end) + 1;

// ------------------------------------------------------------------ scenario editor

async function loadBase(base, view = null) {
  state.base = view || (await api(`/api/scenarios/${encodeURIComponent(base)}`));
  state.params = {};
  for (const module of state.base.modules) for (const p of module.parameters) state.params[p.key] = p;
  state.values = {};
  state.events = structuredClone(state.base.events);
  state.selectedEvent = null;
  $("#base-select").value = state.base.base;
  $("#scenario-name").value = "";
  $("#scenario-name").placeholder = `${state.base.name}-edited`;
  $("#base-description").textContent = state.base.description;
  for (const id of ["#since", "#until", "#view-since", "#view-until"]) {
    $(id).min = state.base.start;
    $(id).max = state.base.end;
  }
  renderModules();
  renderEvents();
  setFormError(null);
  $("#form-status").textContent = `${state.base.name}: ${Object.keys(state.params).length} parameters, ${state.events.length} events, ${state.base.start} to ${state.base.end}`;
  updateRunButton();
}

function currentEdit() {
  return {
    base: state.base.base,
    name: $("#scenario-name").value.trim() || null,
    values: state.values,
    events: state.events,
  };
}

function scheduleCheck() {
  clearTimeout(state.checkTimer);
  state.checkTimer = setTimeout(check, 250);
}

async function check() {
  const seq = ++state.checkSeq;
  let answer;
  try {
    answer = await postJson("/api/scenario/check", currentEdit());
  } catch (e) {
    answer = { ok: false, error: e.message, field: e.field };
  }
  if (seq !== state.checkSeq) return; // a later edit is being checked
  if (!answer.ok) {
    state.valid = false;
    setFormError(answer.error, answer.field);
  } else {
    state.valid = true;
    setFormError(null);
    $("#form-status").textContent = `valid: ${answer.name}, scenario hash ${answer.sha256.slice(0, 12)}`;
    if (JSON.stringify(answer.events) !== JSON.stringify(state.events)) {
      state.events = answer.events; // e.g. a removed event of the base comes back disabled
      renderEvents();
    }
  }
  updateRunButton();
}

function setFormError(message, field = null) {
  const box = $("#form-error");
  box.hidden = !message;
  box.textContent = message || "";
  for (const node of $$(".param.invalid")) {
    node.classList.remove("invalid");
    node.querySelector(".perror")?.remove();
  }
  if (message && field) {
    const node = document.querySelector(`.param[data-key="${CSS.escape(field)}"]`);
    if (node) {
      node.classList.add("invalid");
      node.append(el("div", { class: "perror", text: message }));
      node.closest("details").open = true;
    }
  }
}

function updateRunButton() {
  $("#run").disabled = !state.valid;
  $("#download-yaml").disabled = !state.valid;
}

function control(p, value, onChange) {
  if (p.control === "boolean") {
    const box = el("input", { type: "checkbox", "aria-label": p.key });
    box.checked = Boolean(value);
    box.addEventListener("change", () => onChange(box.checked));
    return box;
  }
  if (p.control === "category") {
    const select = el("select", { "aria-label": p.key }, p.options.map((o) => el("option", { value: o, text: o })));
    select.value = value;
    select.addEventListener("change", () => onChange(select.value));
    return select;
  }
  const input = el("input", {
    type: "number",
    "aria-label": p.key,
    min: p.minimum ?? null,
    max: p.maximum ?? null,
    step: p.control === "integer" ? 1 : "any",
  });
  input.value = value;
  input.addEventListener("change", () => onChange(input.value === "" ? input.value : Number(input.value)));
  return input;
}

function renderModules() {
  const root = $("#modules");
  root.replaceChildren();
  const levers = ["policy", "smuggling"]; // what a policy question changes first; then the mechanisms in order
  const rank = (m) => (levers.includes(m.module) ? levers.indexOf(m.module) : levers.length);
  const modules = [...state.base.modules].sort((a, b) => rank(a) - rank(b));
  for (const module of modules) {
    const open = levers.includes(module.module);
    const details = el("details", { class: "module", open }, el("summary", { text: `${module.mechanism} ${module.title}` }));
    for (const p of module.parameters) {
      const input = control(p, p.value, (v) => setValue(p.key, v));
      const sources = [p.unit, p.prior && `prior ${p.prior}`, p.source].filter(Boolean).join(" · ");
      const setBy = p.events.length ? ` · changed later by ${p.events.join(", ")}` : "";
      details.append(
        el("div", { class: "param", "data-key": p.key, title: p.description || p.key },
          el("label", { class: "pname", text: p.name }),
          input,
          el("div", { class: "meta", text: sources + setBy })),
      );
    }
    root.append(details);
  }
}

function setValue(key, value) {
  const p = state.params[key];
  if (value === p.value) delete state.values[key];
  else state.values[key] = value;
  document.querySelector(`.param[data-key="${CSS.escape(key)}"]`).classList.toggle("changed", key in state.values);
  scheduleCheck();
}

function filterModules() {
  const q = $("#param-filter").value.trim().toLowerCase();
  for (const node of $$(".param")) node.hidden = q !== "" && !node.dataset.key.toLowerCase().includes(q);
  for (const details of $$("details.module")) {
    if (q) details.open = details.querySelector(".param:not([hidden])") !== null;
  }
}

// ------------------------------------------------------------------ events and their timeline

function renderEvents() {
  renderTimeline();
  $("#events").replaceChildren(...state.events.map((event, i) => eventRow(event, i)));
}

function renderTimeline() {
  const line = $("#timeline");
  line.replaceChildren();
  const n = horizon();
  const [y0] = state.base.start.split("-").map(Number);
  const [y1] = state.base.end.split("-").map(Number);
  for (let y = y0; y <= y1; y += 2) {
    const t = monthIndex(state.base.start, `${y}-01`);
    if (t >= 0) line.append(el("span", { class: "tick", style: `left:${(100 * t) / (n - 1)}%`, text: String(y) }));
  }
  // events close in time go on separate lanes, so that every marker can be grabbed
  const span = Math.ceil((16 / (line.clientWidth || 380)) * (n - 1)); // months a marker covers
  const lanes = []; // per lane, the month of its last marker
  const lane = {};
  const byMonth = state.events.map((e, i) => [monthIndex(state.base.start, e.month), i]).sort((a, b) => a[0] - b[0]);
  for (const [t, i] of byMonth) {
    let k = lanes.findIndex((last) => t - last >= span);
    if (k < 0) k = lanes.push(t) - 1;
    lanes[k] = t;
    lane[i] = k;
  }
  line.style.height = `${8 + 26 * Math.max(1, lanes.length)}px`;
  state.events.forEach((event, i) => {
    const t = monthIndex(state.base.start, event.month);
    const marker = el("button", {
      type: "button",
      class: `marker${event.enabled ? "" : " disabled"}${state.selectedEvent === i ? " selected" : ""}`,
      style: `left:${(100 * t) / (n - 1)}%; bottom:${26 * lane[i]}px`,
      title: `${event.month} ${event.id}: ${settingsText(event)}`,
      "aria-label": `event ${event.id} in ${event.month}`,
      "data-event": event.id,
    });
    dragMarker(marker, line, i);
    line.append(marker);
  });
}

const settingsText = (event) => Object.entries(event.set).map(([k, v]) => `${k} = ${v}`).join(", ");

function dragMarker(marker, line, i) {
  let moved = false;
  marker.addEventListener("pointerdown", (e) => {
    marker.setPointerCapture(e.pointerId);
    moved = false;
    selectEvent(i);
  });
  marker.addEventListener("pointermove", (e) => {
    if (!marker.hasPointerCapture(e.pointerId)) return;
    const box = line.getBoundingClientRect();
    const n = horizon();
    const t = Math.round(Math.min(1, Math.max(0, (e.clientX - box.left) / box.width)) * (n - 1));
    marker.style.left = `${(100 * t) / (n - 1)}%`;
    marker.title = monthLabel(state.base.start, t);
    marker.dataset.month = marker.title;
    moved = true;
  });
  marker.addEventListener("pointerup", (e) => {
    marker.releasePointerCapture(e.pointerId);
    if (moved && marker.dataset.month) {
      state.events[i].month = marker.dataset.month;
      renderEvents();
      scheduleCheck();
    }
  });
}

function selectEvent(i) {
  state.selectedEvent = i;
  $$("#events .event").forEach((row, j) => row.classList.toggle("selected", i === j));
  $$("#timeline .marker").forEach((m, j) => m.classList.toggle("selected", i === j));
}

function eventRow(event, i) {
  const changed = () => {
    renderTimeline();
    scheduleCheck();
  };
  const enabled = el("input", { type: "checkbox", title: "enabled", "aria-label": `event ${event.id} enabled` });
  enabled.checked = event.enabled;
  enabled.addEventListener("change", () => {
    event.enabled = enabled.checked;
    changed();
  });
  const month = el("input", { type: "month", value: event.month, min: state.base.start, max: state.base.end, "aria-label": `event ${event.id} month` });
  month.addEventListener("change", () => {
    if (month.value) event.month = month.value;
    changed();
  });
  const id = el("input", { type: "text", value: event.id, size: 14, "aria-label": "event id", spellcheck: "false" });
  id.addEventListener("change", () => {
    event.id = id.value.trim();
    changed();
  });
  const note = el("input", { type: "text", value: event.note, size: 14, placeholder: "note", "aria-label": `event ${event.id} note` });
  note.addEventListener("change", () => {
    event.note = note.value;
    scheduleCheck();
  });
  const settings = el("div");
  for (const [key, value] of Object.entries(event.set)) settings.append(settingRow(event, key, value));
  const addSetting = el("button", { type: "button", class: "small", text: "+ parameter", title: "this event sets another parameter too" });
  addSetting.addEventListener("click", () => {
    const key = Object.keys(state.params).find((k) => !(k in event.set));
    event.set[key] = state.params[key].value;
    renderEvents();
    scheduleCheck();
  });
  const remove = el("button", { type: "button", text: "×", title: "remove the event", "aria-label": `remove event ${event.id}` });
  remove.addEventListener("click", () => {
    state.events.splice(i, 1);
    state.selectedEvent = null;
    renderEvents();
    scheduleCheck();
  });
  const row = el("div", { class: `event${event.enabled ? "" : " disabled"}`, "data-event": event.id },
    el("div", { class: "head" }, enabled, month, id, remove),
    el("div", { class: "body" }, settings, addSetting, note));
  row.addEventListener("focusin", () => selectEvent(i));
  return row;
}

function settingRow(event, key, value) {
  const keys = el("select", { "aria-label": `event ${event.id} parameter` },
    Object.keys(state.params).map((k) => el("option", { value: k, text: k })));
  keys.value = key;
  keys.addEventListener("change", () => {
    const entries = Object.entries(event.set).map(([k, v]) => (k === key ? [keys.value, state.params[keys.value].value] : [k, v]));
    event.set = Object.fromEntries(entries);
    renderEvents();
    scheduleCheck();
  });
  const input = control(state.params[key], value, (v) => {
    event.set[key] = v;
    renderTimeline();
    scheduleCheck();
  });
  input.setAttribute("aria-label", `event ${event.id} sets ${key}`);
  const drop = el("button", { type: "button", text: "−", title: "drop this setting" });
  drop.addEventListener("click", () => {
    delete event.set[key];
    renderEvents();
    scheduleCheck();
  });
  return el("div", { class: "setting" }, keys, input, drop);
}

function addEvent() {
  const ids = new Set(state.events.map((e) => e.id));
  let k = 1;
  while (ids.has(`my-event-${k}`)) k += 1;
  const middle = monthLabel(state.base.start, Math.floor(horizon() / 2));
  const key = "policy.enforcement_small_boat" in state.params ? "policy.enforcement_small_boat" : Object.keys(state.params)[0];
  state.events.push({ id: `my-event-${k}`, month: middle, set: { [key]: state.params[key].value }, note: "", enabled: true });
  renderEvents();
  selectEvent(state.events.length - 1);
  scheduleCheck();
}

// ------------------------------------------------------------------ files

async function uploadFile() {
  const file = $("#upload").files[0];
  if (!file) return;
  const form = new FormData();
  form.append("file", file);
  try {
    const view = await api("/api/scenario/upload", { method: "POST", body: form });
    const select = $("#base-select");
    if (!select.querySelector(`option[value="${CSS.escape(view.base)}"]`)) {
      select.append(el("option", { value: view.base, text: `uploaded: ${view.name}` }));
    }
    await loadBase(view.base, view);
  } catch (error) {
    setFormError(error.message, error.field);
  } finally {
    $("#upload").value = "";
  }
}

async function downloadYaml() {
  const response = await fetch("/api/scenario/yaml", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(currentEdit()),
  });
  if (!response.ok) return setFormError((await response.json()).error);
  const name = /filename="([^"]+)"/.exec(response.headers.get("content-disposition") || "")?.[1] || "scenario.yaml";
  const link = el("a", { href: URL.createObjectURL(await response.blob()), download: name });
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}

// ------------------------------------------------------------------ running

const mode = () => document.querySelector('input[name="mode"]:checked').value;

function setMode() {
  const m = mode();
  document.body.dataset.mode = m;
  for (const node of $$(".full-only")) node.hidden = m === "run";
  for (const node of $$(".quick-only")) node.hidden = m !== "run";
  for (const node of $$(".compare-only")) node.hidden = m !== "compare";
  if (!state.agentsTouched) $("#agents").value = m === "run" ? 100000 : 20000;
  $("#run").textContent = { run: "Run", ensemble: "Run ensemble", compare: "Compare" }[m];
}

async function startJob() {
  const m = mode();
  const body = { kind: m, scenario: currentEdit(), agents: Number($("#agents").value), seed: Number($("#seed").value) };
  if (m === "run") body.life_events = $("#life-events").checked;
  else {
    body.runs = Number($("#runs").value);
    body.posterior = $("#posterior").value;
  }
  if (m === "compare") {
    if ($("#baseline-select").value) body.baseline = { base: $("#baseline-select").value };
    if ($("#since").value) body.since = $("#since").value;
    if ($("#until").value) body.until = $("#until").value;
  }
  const error = $("#run-error");
  try {
    const job = await postJson("/api/jobs", body);
    error.hidden = true;
    state.followed = job.id;
    state.jobStatus[job.id] = job.status;
    history.pushState({ run: job.id }, "", job.permalink);
    await pollJobs();
  } catch (e) {
    error.hidden = false;
    error.textContent = e.message;
  }
}

async function pollJobs() {
  let jobs;
  try {
    jobs = await api("/api/jobs");
  } catch {
    return; // the server is restarting; try again at the next tick
  }
  const list = $("#jobs");
  list.replaceChildren();
  $("#no-jobs").hidden = jobs.length > 0;
  let finished = false;
  for (const job of jobs) {
    const before = state.jobStatus[job.id];
    state.jobStatus[job.id] = job.status;
    if (before && before !== job.status && !["queued", "running"].includes(job.status)) {
      finished = true;
      if (job.id === state.followed) showRun(job.id);
    }
    list.append(jobItem(job));
  }
  if (finished) refreshRegistry();
}

function jobItem(job) {
  const active = ["queued", "running"].includes(job.status);
  const bar = el("progress", { max: job.total || 1, value: job.done, "aria-label": `progress of ${job.id}` });
  const cancel = active ? el("button", { type: "button", text: "Cancel", "data-cancel": job.id }) : null;
  cancel?.addEventListener("click", async () => {
    await postJson(`/api/jobs/${job.id}/cancel`, {});
    pollJobs();
  });
  const open = el("a", { href: `/runs/${job.id}`, text: job.label || job.id });
  open.addEventListener("click", (e) => {
    e.preventDefault();
    navigate(job.id);
  });
  const elapsed = job.elapsed_seconds !== null ? ` · ${job.elapsed_seconds} s` : "";
  const progress = job.total ? ` ${job.done}/${job.total}` : "";
  return el("li", { "data-job": job.id, "data-status": job.status },
    el("div", {}, open, " ", el("span", { class: `status-${job.status}`, text: job.status }),
      el("span", { class: "muted small", text: ` · ${job.stage}${progress}${elapsed}` })),
    el("div", {}, cancel),
    el("div", { style: "grid-column: 1 / -1" }, active ? bar : null,
      job.error ? el("div", { class: "error", text: job.error }) : null));
}

// ------------------------------------------------------------------ results

function navigate(runId) {
  history.pushState({ run: runId }, "", `/runs/${runId}`);
  showRun(runId);
}

async function showRun(runId) {
  state.followed = runId;
  const box = $("#results");
  box.hidden = false;
  let record;
  try {
    record = await api(`/api/runs/${runId}`);
  } catch (e) {
    $("#result-title").textContent = "Results";
    $("#view-error").hidden = false;
    $("#view-error").textContent = e.message;
    return;
  }
  $("#view-error").hidden = true;
  $("#result-title").textContent = `${{ run: "Quick run", ensemble: "Ensemble", compare: "Comparison" }[record.kind]}: ${(record.arms || [record.scenario]).join(" vs ")}`;
  const runs = record.kind === "run" ? "one run" : `${record.runs} runs, posterior ${record.posterior}`;
  $("#result-meta").textContent =
    `run ${record.id} · ${record.status} · ${runs} · ${Number(record.agents).toLocaleString("en-GB")} agents · seed ${record.seed} · ` +
    `scenario hash ${record.scenario_sha256.slice(0, 12)} · corridor ${record.version}` + (record.error ? ` · ${record.error}` : "");
  for (const fmt of ["parquet", "csv", "xlsx", "yaml"]) $(`#dl-${fmt}`).href = `/api/runs/${runId}/download/${fmt}`;
  $("#report-link").href = `/api/runs/${runId}/report`;
  $("#permalink").href = `/runs/${runId}`;
  $("#downloads").hidden = record.status !== "done";
  markRegistry();
  if (record.status !== "done") {
    $("#cards").replaceChildren();
    $("#figures").replaceChildren();
    return;
  }
  await loadView(runId, true);
  $("#cases-box").hidden = !record.life_events;
  if (record.life_events) loadCases(runId);
}

async function loadView(runId, fresh = false) {
  const params = new URLSearchParams();
  if (!fresh && $("#output-select").value) params.set("output", $("#output-select").value);
  if (!fresh && $("#period-select").value) params.set("period", $("#period-select").value);
  if ($("#view-since").value) params.set("since", $("#view-since").value);
  if ($("#view-until").value) params.set("until", $("#view-until").value);
  let view;
  try {
    view = await api(`/api/runs/${runId}/view?${params}`);
    $("#view-error").hidden = true;
  } catch (e) {
    $("#view-error").hidden = false;
    $("#view-error").textContent = e.message;
    return;
  }
  if (runId !== state.followed) return;
  const select = $("#output-select");
  select.replaceChildren(...view.outputs.map((o) => el("option", { value: o, text: o })));
  select.value = view.output;
  const periods = view.periods || [];
  for (const node of $$(".period-only")) node.hidden = periods.length === 0;
  for (const node of $$(".window-only")) node.hidden = periods.length > 0;
  $("#period-select").replaceChildren(...periods.map((p) => el("option", { value: p, text: p })));
  if (view.period) $("#period-select").value = view.period;
  renderCards(view.cards, view.window);
  renderFigures(view.figures, runId);
  renderProvenance(view.provenance);
}

function renderCards(cards, window) {
  $("#cards").replaceChildren(...cards.map((c) =>
    el("div", { class: `card ${c.direction || ""}`, "data-output": c.output, title: c.note || "" },
      el("div", { class: "label", text: c.label }),
      el("div", { class: "value", text: c.value }),
      el("div", { class: "interval", text: c.interval || "" }),
      c.detail ? el("div", { class: "detail", text: c.detail }) : null)));
  $("#cards").dataset.window = window;
  $("#cards-caption").textContent = cards.length && cards[0].detail
    ? `Paired change, ${window}: median over draws of variant minus baseline (same draw and seed), with its 90% interval; below, each arm's median.`
    : `Totals ${window}: flows summed over the months, stocks at the last month.`;
}

function renderFigures(figures, runId) {
  const root = $("#figures");
  if (root.children.length !== figures.length) root.replaceChildren(...figures.map(() => el("div", { class: "figure" })));
  figures.forEach((figure, i) => Plotly.react(root.children[i], figure.data, figure.layout, { displaylogo: false, responsive: true }));
  root.dataset.run = runId;
}

function renderProvenance(rows) {
  $("#provenance tbody").replaceChildren(...rows.map((r) =>
    el("tr", {}, el("td", { text: r.key }), el("td", { text: String(r.value) }), el("td", { text: r.unit }),
      el("td", { text: r.prior }), el("td", { text: r.source }), el("td", { text: r.events.join(", ") }))));
}

async function loadCases(runId) {
  const root = $("#cases");
  try {
    const cases = await api(`/api/runs/${runId}/cases`);
    const chart = el("div", { class: "figure" });
    root.replaceChildren(chart, ...cases.cases.map((c) =>
      el("div", { class: "case" }, el("strong", { text: c.title }), el("ol", {}, c.lines.map((line) => el("li", { text: line }))))));
    Plotly.react(chart, cases.figure.data, cases.figure.layout, { displaylogo: false, responsive: true });
  } catch (e) {
    root.replaceChildren(el("p", { class: "error", text: e.message }));
  }
}

async function refreshRegistry() {
  const runs = await api("/api/runs");
  $("#registry tbody").replaceChildren(...runs.map((r) => {
    const link = el("a", { href: `/runs/${r.id}`, text: r.id });
    link.addEventListener("click", (e) => {
      e.preventDefault();
      navigate(r.id);
    });
    return el("tr", { "data-run": r.id },
      el("td", {}, link), el("td", { text: r.kind }), el("td", { text: (r.arms || [r.scenario]).join(" vs ") }),
      el("td", { text: r.status, title: r.error || "" }), el("td", { text: r.seed }), el("td", { text: Number(r.agents).toLocaleString("en-GB") }),
      el("td", { text: r.runs }), el("td", { text: r.scenario_sha256.slice(0, 12), title: r.scenario_sha256 }), el("td", { text: r.version }));
  }));
  markRegistry();
}

function markRegistry() {
  for (const row of $$("#registry tbody tr")) row.classList.toggle("current", row.dataset.run === state.followed);
}

// ------------------------------------------------------------------ start

function runFromPath() {
  const m = /^\/runs\/([0-9a-f-]+)$/.exec(location.pathname);
  return m ? m[1] : null;
}

async function init() {
  state.info = await api("/api/info");
  $("#version").textContent = `corridor ${state.info.version}`;
  $("#posterior").replaceChildren(...state.info.posteriors.map((p) => el("option", { value: p, text: p })));
  const scenarios = await api("/api/scenarios");
  $("#base-select").replaceChildren(...scenarios.map((s) => el("option", { value: s.name, text: s.name, title: s.description })));
  $("#baseline-select").replaceChildren(el("option", { value: "", text: "the unedited starting scenario" }),
    ...scenarios.map((s) => el("option", { value: s.name, text: s.name })));
  $("#base-select").addEventListener("change", () => loadBase($("#base-select").value));
  $("#scenario-name").addEventListener("change", scheduleCheck);
  $("#param-filter").addEventListener("input", filterModules);
  $("#add-event").addEventListener("click", addEvent);
  $("#upload").addEventListener("change", uploadFile);
  $("#download-yaml").addEventListener("click", downloadYaml);
  $("#reset").addEventListener("click", () => loadBase(state.base.base));
  for (const radio of $$('input[name="mode"]')) radio.addEventListener("change", setMode);
  $("#agents").addEventListener("change", () => (state.agentsTouched = true));
  $("#run").addEventListener("click", startJob);
  $("#output-select").addEventListener("change", () => state.followed && loadView(state.followed));
  $("#period-select").addEventListener("change", () => state.followed && loadView(state.followed));
  $("#cases-box").addEventListener("toggle", () => $$("#cases .figure").forEach((f) => Plotly.Plots.resize(f)));
  $("#view-since").addEventListener("change", () => state.followed && loadView(state.followed));
  $("#view-until").addEventListener("change", () => state.followed && loadView(state.followed));
  window.addEventListener("popstate", () => runFromPath() && showRun(runFromPath()));
  setMode();
  await loadBase(scenarios.some((s) => s.name === "albania-uk") ? "albania-uk" : scenarios[0].name);
  await refreshRegistry();
  await pollJobs();
  setInterval(pollJobs, 700);
  if (runFromPath()) await showRun(runFromPath());
  document.body.dataset.ready = "yes"; // for people and browser tests alike: the page is wired
}

init();
