// The marketer dashboard: every section reads the admin API and renders with the DOM
// (textContent only: nothing from the API is ever parsed as HTML). The chart uses the vendored Chart.js.
"use strict";

const $ = (id) => document.getElementById(id);
const KEY_STORAGE = "persona-admin-key";
const TOKEN_STORAGE = "persona-id-token";
const PKCE_STORAGE = "persona-sign-in";
// Locally the admin routes take the key `persona up` prints (x-api-key). In AWS config.js sets
// PERSONA_AUTH = {domain, clientId}: staff sign in with the Cognito user pool's hosted UI
// (authorization code + PKCE) and the ID token goes in the Authorization header.
const AUTH = window.PERSONA_AUTH || null;

// ---------------------------------------------------------------- formatting
const numberFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });
const integerFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const percentFormat = new Intl.NumberFormat(undefined, { style: "percent", maximumFractionDigits: 1 });
const liftFormat = new Intl.NumberFormat(undefined, { style: "percent", maximumFractionDigits: 1, signDisplay: "exceptZero" });
const missing = "—";
const num = (x) => (x === null || x === undefined ? missing : numberFormat.format(x));
const int = (x) => (x === null || x === undefined ? missing : integerFormat.format(x));
const pct = (x) => (x === null || x === undefined ? missing : percentFormat.format(x));
const lift = (x) => (x === null || x === undefined ? missing : liftFormat.format(x));
const interval = (ci) => (ci && ci.length === 2 && ci[0] !== null && ci[1] !== null ? `[${lift(ci[0])}, ${lift(ci[1])}]` : missing);
const pValue = (p) => (p === null || p === undefined ? missing : p < 0.001 ? "< 0.001" : p.toFixed(3));
const when = (iso) => (iso ? new Date(iso).toLocaleString() : "");
const day = (iso) => (iso ? new Date(iso).toLocaleDateString() : "");
const words = (s) => (s || "").replaceAll("_", " ");
const METRICS = { conversion_rate: "conversion rate", revenue_per_visitor: "revenue per visitor", average_order_value: "average order value",
  retention: "retention", engagement: "engagement" };
const RATE_METRICS = new Set(["conversion_rate", "retention"]);
const metricValue = (metric, x) => (RATE_METRICS.has(metric) ? pct(x) : num(x));

// ---------------------------------------------------------------- DOM helpers
function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "text") node.textContent = value;
    else if (name === "className") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}
const cell = (text, className) => el("td", { text: text ?? "", className });
const numCell = (text) => cell(text, "num");

function fill(tableId, rows, emptyText) {
  const table = $(tableId);
  const body = table.querySelector("tbody");
  if (!rows.length && emptyText) {
    const span = table.querySelector("thead tr").children.length;
    body.replaceChildren(el("tr", {}, el("td", { colspan: span, className: "empty", text: emptyText })));
    return;
  }
  body.replaceChildren(...rows.map((cells) => (cells instanceof HTMLTableRowElement ? cells : el("tr", {}, ...cells))));
}

function facts(listId, pairs) {
  $(listId).replaceChildren(...pairs.filter(([, v]) => v !== undefined).map(([term, value]) =>
    el("div", {}, el("dt", { text: term }), el("dd", { text: value }))));
}

function say(id, text, kind = "") {
  const node = $(id);
  node.textContent = text || "";
  node.classList.remove("ok", "bad", "warn");
  if (kind) node.classList.add(kind);
}

function rateCell(rate) {
  const td = el("td", { className: "rate" + (rate < 0.8 ? " warn" : "") });
  td.append(el("span", { className: "bar", style: `width: ${Math.round(Math.max(0, Math.min(1, rate)) * 4)}rem`, "aria-hidden": "true" }),
    `${pct(rate)}${rate < 0.8 ? " (low)" : ""}`);
  return td;
}

// ---------------------------------------------------------------- the API
class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    const details = Array.isArray(error.details)
      ? error.details.map((d) => (d && d.message ? `${d.location ? d.location + ": " : ""}${d.message}` : JSON.stringify(d))) : [];
    super([error.message || (body && body.message) || `HTTP ${status}`, ...details].join(" — "));
    this.status = status;
    this.code = error.code;
  }
}

async function api(method, path, body) {
  const headers = AUTH ? { authorization: signedInToken() || "" } : { "x-api-key": sessionStorage.getItem(KEY_STORAGE) || "" };
  if (body !== undefined) headers["content-type"] = "application/json";
  const send = () => fetch(window.PERSONA_API + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  let response = await send();
  if (method === "GET" && response.status >= 500) { // a read may be retried once: a busy backend's hiccup is not worth a red section
    await new Promise((resolve) => setTimeout(resolve, 500));
    response = await send();
  }
  const text = await response.text();
  let parsed = null;
  try { parsed = text ? JSON.parse(text) : null; } catch { parsed = { message: text || response.statusText }; }
  if (!response.ok) throw new ApiError(response.status, parsed);
  return parsed;
}
const get = (path) => api("GET", path);

async function busy(sectionId, work) {
  const section = $(sectionId);
  section.setAttribute("aria-busy", "true");
  try { return await work(); } finally { section.removeAttribute("aria-busy"); }
}

// ---------------------------------------------------------------- imports and quality
async function loadImports() {
  await busy("imports-section", async () => {
    const [imports, quality] = await Promise.all([get("/v1/imports"), get("/v1/quality")]);
    fill("imports", imports.imports.map((r) => [
      cell(when(r.received_at)),
      el("td", {}, el("div", { text: `${r.kind || "?"} / ${r.source}` }), el("code", { text: r.key })),
      el("td", { className: r.status === "failed" ? "bad" : r.status === "completed" ? "ok" : "warn" },
        r.status, r.duration_ms !== null && r.duration_ms !== undefined ? el("div", { className: "note", text: `in ${num(r.duration_ms / 1000)} s` }) : null,
        r.failure_reason ? el("div", { text: r.failure_reason }) : null),
      numCell(int(r.rows_read)), numCell(int(r.accepted)), numCell(int(r.duplicates)),
      el("td", { className: "num" + (r.quarantined ? " warn" : ""), text: int(r.quarantined) }),
      numCell(int(r.suppressed)), numCell(int(r.profiles_written)),
    ]), "No imports yet: drop an export into the drop bucket (persona drop FILE --kind customers).");
    say("imports-status", imports.imports.length ? `${imports.imports.length} imports, newest first` : "");

    fill("quality-sources", quality.sources.map((s) => [
      cell(`${s.kind} / ${s.source}`),
      numCell(`${int(s.imports)}${s.failed_imports ? ` (+${s.failed_imports} failed)` : ""}`),
      cell(s.last_import_at ? `${when(s.last_import_at)} (${s.days_since_last_import < 1 ? "today" : `${num(s.days_since_last_import)} days ago`})` : missing),
      numCell(int(s.rows_read)), numCell(pct(s.duplicate_rate)),
      el("td", { className: "num" + (s.quarantine_rate > 0.05 ? " warn" : ""), text: pct(s.quarantine_rate) }),
    ]), "No completed imports yet.");
    const fieldRows = [];
    for (const s of quality.sources) {
      for (const [field, f] of Object.entries(s.fields).sort(([a], [b]) => a.localeCompare(b))) {
        fieldRows.push([cell(`${s.kind} / ${s.source}`), el("th", { scope: "row", text: field }), numCell(int(f.filled)), rateCell(f.fill_rate),
          numCell(int(f.valid)), rateCell(f.validity_rate)]);
      }
    }
    fill("quality-fields", fieldRows, "No fields measured yet.");
    const p = quality.profiles;
    facts("profile-quality", p ? [
      ["Scored profiles", int(p.scored_profiles)], ["Mean score (0-100)", num(p.mean_score)],
      ...Object.entries(p.score_bands).map(([band, count]) => [`Score ${band}`, int(count)]),
      ["Possible duplicates", int(p.possible_duplicates)],
      ["Missing key fields", Object.entries(p.missing_fields).filter(([, n]) => n).map(([f, n]) => `${words(f)} ${int(n)}`).join(", ") || "none"],
      ["As of", when(p.computed_at)],
    ] : [["Profiles", "not scored yet (after the first segment run)"]]);
  });
}

// ---------------------------------------------------------------- segments
async function loadSegments() {
  await busy("segments-section", async () => {
    let counts;
    try {
      counts = await get("/v1/segments");
    } catch (error) {
      if (error.status !== 404) throw error;
      fill("segments", [], "Segments have not been computed yet: they are after each import and every hour.");
      say("segments-status", "");
      return;
    }
    const total = counts.profiles || 0;
    const segments = [...counts.segments].sort((a, b) => a.name.localeCompare(b.name));
    const largest = Math.max(1, ...segments.map((s) => s.count));
    fill("segments", segments.map((s) => {
      const share = total ? s.count / total : 0;
      const td = el("td", { className: "rate" });
      td.append(el("span", { className: "bar", style: `width: ${Math.round((s.count / largest) * 100) / 10}rem`, "aria-hidden": "true" }), pct(share));
      return [el("th", { scope: "row", text: s.name }), numCell(int(s.count)), td];
    }), "No segments yet.");
    const asOf = counts.as_of && counts.as_of.slice(0, 10) !== counts.computed_at.slice(0, 10) ? `, as of ${day(counts.as_of)}` : "";
    say("segments-status", `${int(total)} profiles; computed ${when(counts.computed_at)}${asOf}`);
  });
}

// ---------------------------------------------------------------- profile viewer
async function lookUpProfile(id) {
  say("profile-status", "Looking up…");
  $("profile").hidden = true;
  try {
    const p = await busy("profile-section", () => get(`/v1/profiles/${encodeURIComponent(id)}`));
    $("profile-heading").textContent = `Profile ${p.profile_id}`;
    const orders = p.orders;
    const revenue = orders ? Object.entries(orders.revenue).map(([currency, amount]) => `${amount} ${currency}`).join(", ") : "";
    const quality = p.data_quality;
    const detail = p.segment_detail || {};
    const engagement = p.campaign_engagement;
    facts("profile-facts", [
      ["Linked ids", p.linked_ids.length ? p.linked_ids.join(", ") : "none"],
      ["Orders", orders ? `${int(orders.order_count)} (${revenue})` : "none"],
      ["First / last order", orders ? `${day(orders.first_order_at)} / ${day(orders.last_order_at)}` : missing],
      ["Data quality", quality ? `${int(quality.score)} / 100${quality.missing && quality.missing.length ? `; missing ${quality.missing.join(", ")}` : ""}` : missing],
      ["Possible duplicates", quality && quality.possible_duplicates && quality.possible_duplicates.length ? quality.possible_duplicates.join(", ") : "none"],
      ["Churn risk", detail.churn_risk === undefined ? missing : pct(detail.churn_risk)],
      ["RFM (1-5)", detail.rfm ? `R ${detail.rfm.recency} · F ${detail.rfm.frequency} · M ${detail.rfm.monetary}` : missing],
      ["Top categories", (detail.top_categories || []).join(", ") || missing],
      ["Top brands", (detail.top_brands || []).join(", ") || missing],
      ["Searches", (detail.search_terms || []).join(", ") || missing],
      ["E-mail campaigns", engagement ? `${Object.entries(engagement.event_counts).map(([k, v]) => `${v} ${k}`).join(", ")}${engagement.unsubscribed ? " (unsubscribed)" : ""}` : missing],
      ["Interactions", `${int(p.interactions ? p.interactions.total : 0)}${p.interactions && Object.keys(p.interactions.by_type).length
        ? ` (${Object.entries(p.interactions.by_type).map(([k, v]) => `${v} ${words(k)}`).join(", ")})` : ""}`],
    ]);
    fill("profile-attributes", Object.entries(p.attributes || {}).map(([name, a]) => [
      el("th", { scope: "row", text: words(name) }), cell(String(a.value)),
      cell(a.source, a.source === "data_subject" ? "ok" : ""), cell(when(a.at)),
    ]), "No attributes (an anonymous visitor, or nothing imported).");
    $("profile-segments").replaceChildren(...(p.segments.length ? p.segments.map((s) => el("li", { text: s })) : [el("li", { text: "no segments" })]));
    fill("profile-interactions", (p.recent_interactions || []).map((i) => [cell(when(i.occurred_at)), cell(words(i.type)),
      cell([i.item_id, i.category, i.brand, i.query && `“${i.query}”`, i.value !== null && i.value !== undefined ? `${i.value} ${i.currency || ""}` : null].filter(Boolean).join(" · "))]),
      "No recent interactions.");
    $("profile").hidden = false;
    say("profile-status", "");
  } catch (error) {
    say("profile-status", error.status === 404 ? `No profile ${id}.` : `Could not load: ${error.message}`, "bad");
  }
}

// ---------------------------------------------------------------- experiments
let experiments = [];

async function loadExperiments() {
  await busy("experiments-section", async () => {
    experiments = (await get("/v1/experiments")).experiments;
    fill("experiments", experiments.map((x) => {
      const actions = el("td");
      if (x.status === "draft") actions.append(el("button", { type: "button", text: "Start", "aria-label": `Start ${x.key}`, onclick: () => setStatus(x.key, "running") }));
      if (x.status === "running") actions.append(el("button", { type: "button", className: "secondary", text: "Stop", "aria-label": `Stop ${x.key}`, onclick: () => setStatus(x.key, "stopped") }));
      actions.append(" ", el("button", { type: "button", className: "secondary", text: "Results", "aria-label": `Results of ${x.key}`, onclick: () => showResultsOf(x.key) }));
      return el("tr", { "data-key": x.key },
        el("th", { scope: "row" }, el("div", { text: x.key }), el("div", { className: "note", text: x.hypothesis })),
        cell(x.status, x.status === "running" ? "ok" : x.status === "stopped" ? "" : "warn"),
        cell(x.variants.map((v) => `${v.key} (${num(v.weight)})`).join(", ")),
        cell(METRICS[x.primary_metric] || x.primary_metric),
        cell(x.started_at ? `${when(x.started_at)}${x.stopped_at ? ` → ${when(x.stopped_at)}` : ""}` : missing),
        actions);
    }), "No experiments yet: create one below.");
    const select = $("results-experiment");
    const chosen = select.value;
    select.replaceChildren(...experiments.map((x) => el("option", { value: x.key, text: `${x.key} (${x.status})` })));
    const preferred = experiments.find((x) => x.key === chosen) || experiments.find((x) => x.status === "running") || experiments[0];
    if (preferred) select.value = preferred.key;
    if (!chosen && preferred) loadResults();
  });
}

async function setStatus(key, status) {
  say("experiments-status", `${status === "running" ? "Starting" : "Stopping"} ${key}…`);
  try {
    await api("PATCH", `/v1/experiments/${encodeURIComponent(key)}`, { status });
    say("experiments-status", `${key} is ${status}.`, "ok");
  } catch (error) {
    say("experiments-status", `Could not change ${key}: ${error.message}`, "bad");
  }
  await loadExperiments().catch((error) => say("experiments-status", `Could not load: ${error.message}`, "bad"));
  const row = $("experiments").querySelector(`tr[data-key="${CSS.escape(key)}"] button`);
  if (row) row.focus();
}

function variantRow(key = "", weight = "") {
  const li = el("li");
  const remove = el("button", { type: "button", className: "secondary", text: "Remove", onclick: () => { li.remove(); renumberVariants(); } });
  li.append(el("div", {},
    el("label", {}, "Variant key", el("input", { name: "variant_key", value: key, required: true, maxlength: 128, autocomplete: "off" })),
    el("label", {}, "Weight", el("input", { name: "variant_weight", type: "number", min: 0, max: 1, step: "any", value: weight, required: true })),
    remove));
  return li;
}
function renumberVariants() {
  const rows = [...$("variant-rows").children];
  rows.forEach((li, i) => {
    li.querySelector("button").setAttribute("aria-label", `Remove variant ${i + 1}`);
    li.querySelector("[name=variant_key]").setAttribute("aria-label", `Variant ${i + 1} key${i === 0 ? " (control)" : ""}`);
    li.querySelector("[name=variant_weight]").setAttribute("aria-label", `Variant ${i + 1} weight`);
  });
}

async function createExperiment(form) {
  const data = new FormData(form);
  const keys = data.getAll("variant_key");
  const weights = data.getAll("variant_weight");
  const body = {
    key: data.get("key").trim(),
    hypothesis: data.get("hypothesis").trim(),
    primary_metric: data.get("primary_metric"),
    variants: keys.map((key, i) => ({ key: key.trim(), weight: weights[i] === "" ? null : Number(weights[i]) })),
  };
  say("experiment-form-status", "Creating…");
  try {
    const created = await api("POST", "/v1/experiments", body);
    say("experiment-form-status", "");
    say("experiments-status", `Created ${created.key} (draft): start it from the table.`, "ok");
    form.reset();
    resetVariants();
    await loadExperiments();
  } catch (error) {
    say("experiment-form-status", `Not created: ${error.message}`, "bad");
  }
}
function resetVariants() {
  $("variant-rows").replaceChildren(variantRow("control", "0.5"), variantRow("treatment", "0.5"));
  renumberVariants();
}

// ---------------------------------------------------------------- results
let liftChart = null;
let resultsRequest = 0; // only the newest request's answer is shown
const COLOURS = ["#1f4fd1", "#b3261e", "#0a7d32", "#8a5a00", "#6a1b9a", "#00695c"];

function showResultsOf(key) {
  $("results-experiment").value = key;
  loadResults();
  $("results-title").scrollIntoView();
}

async function loadResults() {
  const key = $("results-experiment").value;
  if (!key) return;
  const params = new URLSearchParams({ engine: $("results-engine").value, min_units: $("results-min-units").value || "100" });
  const breakdown = [...document.querySelectorAll("input[name=breakdown]:checked")].map((b) => b.value);
  if (breakdown.length) params.set("breakdown", breakdown.join(","));
  $("verdict").textContent = "Loading results…";
  const request = ++resultsRequest;
  try {
    const results = await busy("experiments-section", () => get(`/v1/experiments/${encodeURIComponent(key)}/results?${params}`));
    if (request === resultsRequest) renderResults(results);
  } catch (error) {
    if (request !== resultsRequest) return;
    $("verdict").textContent = `Could not load the results: ${error.message}`;
    $("verdict").className = "verdict bad";
  }
}

function renderResults(r) {
  const srm = $("srm-warning");
  srm.hidden = !r.srm_warning;
  srm.textContent = r.srm_warning ? `Sample ratio mismatch: ${r.srm_warning} Do not trust these results until the split is fixed.` : "";
  $("verdict").textContent = r.verdict;
  $("verdict").className = "verdict";
  const bayesian = r.engine === "bayesian";
  facts("results-facts", [
    ["Experiment", r.experiment], ["Metric", METRICS[r.metric] || r.metric], ["Engine", r.engine],
    ["Days running", num(r.days_running)],
    [bayesian ? "Credible level" : "Confidence level", pct(1 - r.alpha)],
    ["Correction", r.correction],
    ...(r.cuped_variance_reduction !== null && r.cuped_variance_reduction !== undefined ? [["CUPED variance reduction", pct(r.cuped_variance_reduction)]] : []),
    ...(r.overall ? [["Sample ratio check (p)", pValue(r.overall.srm_p_value)]] : []),
  ]);
  $("results-body").hidden = !r.overall;
  $("variants-test-head").textContent = bayesian ? "Chance to win (expected loss)" : "p-value (adjusted)";
  if (r.overall) {
    const arm = (a, control) => el("tr", {},
      el("th", { scope: "row", text: control && a.name !== "control" ? `${a.name} (control)` : a.name }),
      numCell(int(a.n)), numCell(metricValue(r.metric, a.mean)),
      numCell(control ? missing : lift(a.lift)), cell(control ? missing : interval(a.ci)),
      numCell(control ? missing : bayesian ? `${pct(a.chance_to_win)} (${num(a.expected_loss)})`
        : `${pValue(a.p_value)}${a.adjusted_p_value !== null && a.adjusted_p_value !== undefined ? ` (${pValue(a.adjusted_p_value)})` : ""}`));
    fill("variants", [arm(r.overall.control, true), ...r.overall.variants.map((v) => arm(v, false))]);
    renderChart(r);
  } else if (liftChart) {
    liftChart.destroy();
    liftChart = null;
  }
  const cells = r.cells || [];
  $("cells-block").hidden = !cells.length;
  fill("cells", cells.flatMap((c) => {
    const name = Object.entries(c.cell).map(([d, v]) => `${words(d)}: ${v}`).join(", ");
    if (!c.analysis) return [[el("th", { scope: "row", text: name }), el("td", { colspan: 5, className: "empty", text: c.not_analysed || "not analysed" })]];
    return c.analysis.variants.map((v) => [
      el("th", { scope: "row", text: name }), cell(v.name), numCell(`${int(c.analysis.control.n)} / ${int(v.n)}`),
      numCell(lift(v.lift)), cell(interval(v.ci)),
      numCell(bayesian ? `${pct(v.chance_to_win)} to win` : `${pValue(v.p_value)} (${pValue(v.adjusted_p_value)})`),
    ]);
  }));
  $("conclusion-block").hidden = false;
  const c = r.conclusion;
  $("conclusion").textContent = c ? `${c.decision}: ${c.summary}${c.author ? ` — ${c.author}` : ""} (${when(c.at)})` : "No conclusion yet.";
  $("conclusion").className = c ? "" : "note";
}

// Lift and its interval per day from `history`; with fewer than two days, the current lift as one point.
function chartPoints(r) {
  if ((r.history || []).length >= 2) {
    return { labels: r.history.map((h) => h.date), series: r.history.map((h) => h.variants), current: false };
  }
  return { labels: [`now (day ${num(r.days_running)})`], series: [r.overall.variants], current: true };
}

function renderChart(r) {
  const { labels, series, current } = chartPoints(r);
  const names = [...new Set(series.flatMap((vs) => vs.map((v) => v.name)))];
  const at = (vs, name) => vs.find((v) => v.name === name) || {};
  const level = pct(current ? 1 - r.alpha : 0.95); // the history is always frequentist at alpha 0.05
  const datasets = [];
  names.forEach((name, i) => {
    const colour = COLOURS[i % COLOURS.length];
    datasets.push({
      type: "line", label: `${name}: lift`, data: series.map((vs) => at(vs, name).lift ?? null), borderColor: colour, backgroundColor: colour,
      pointRadius: 5, pointHoverRadius: 7, borderWidth: 2, spanGaps: true, order: 0,
    });
    datasets.push({
      type: "bar", label: `${name}: ${level} interval`,
      data: series.map((vs) => { const ci = at(vs, name).ci || []; return ci.length === 2 && ci[0] !== null && ci[1] !== null ? [ci[0], ci[1]] : null; }),
      backgroundColor: colour + "33", borderColor: colour, borderWidth: 1, borderSkipped: false,
      grouped: false, maxBarThickness: 22, order: 1, // centred on its point, like an error bar
    });
  });
  $("lift-chart-caption").textContent = `Lift on ${METRICS[r.metric] || r.metric} against the control, with its ${level} interval`
    + (current ? " (now; daily points appear as the experiment runs)" : " per day");
  const latest = series[series.length - 1];
  $("lift-chart").setAttribute("aria-label", `Chart. ${latest.map((v) => `${v.name}: ${lift(v.lift)} ${interval(v.ci)}`).join("; ")}`);
  $("lift-chart").setAttribute("aria-describedby", "lift-chart-caption");
  $("lift-chart").removeAttribute("aria-labelledby");
  fill("history", labels.flatMap((label, i) => series[i].map((v) => [cell(label), cell(v.name), numCell(lift(v.lift)), cell(interval(v.ci))])));

  if (typeof Chart === "undefined") return; // the library could not load: the table above still has the data
  if (liftChart) liftChart.destroy();
  Chart.defaults.color = "#1d2433";
  Chart.defaults.font.family = "system-ui, sans-serif";
  liftChart = new Chart($("lift-chart"), {
    data: { labels, datasets },
    options: {
      animation: false, responsive: true, maintainAspectRatio: false,
      interaction: { mode: "index", intersect: false },
      scales: {
        y: { grace: "5%", title: { display: true, text: "lift against the control" },
          ticks: { callback: (value) => lift(value) },
          grid: { color: (ctx) => (ctx.tick && ctx.tick.value === 0 ? "#1d2433" : "#e3e6ec"), lineWidth: (ctx) => (ctx.tick && ctx.tick.value === 0 ? 2 : 1) } },
        x: { grid: { display: false } },
      },
      plugins: {
        legend: { position: "bottom", labels: { boxWidth: 14 } },
        tooltip: { callbacks: { label: (ctx) => `${ctx.dataset.label}: ${Array.isArray(ctx.raw) ? interval(ctx.raw) : lift(ctx.raw)}` } },
      },
    },
  });
}

async function saveConclusion(form) {
  const data = new FormData(form);
  const key = $("results-experiment").value;
  const body = { decision: data.get("decision"), summary: data.get("summary").trim() };
  if (data.get("author").trim()) body.author = data.get("author").trim();
  try {
    const saved = await api("PUT", `/v1/experiments/${encodeURIComponent(key)}/conclusion`, body);
    say("conclusion-status", "Saved.", "ok");
    $("conclusion").textContent = `${saved.decision}: ${saved.summary}${saved.author ? ` — ${saved.author}` : ""} (${when(saved.at)})`;
    $("conclusion").className = "";
  } catch (error) {
    say("conclusion-status", `Not saved: ${error.message}`, "bad");
  }
}

// ---------------------------------------------------------------- planner
async function plan(form) {
  const data = new FormData(form);
  const solve = data.get("solve");
  const body = { baseline_rate: Number(data.get("baseline")) / 100, daily_traffic: Number(data.get("daily_traffic")), variants: Number(data.get("variants")) };
  if (solve === "days") body.mde = Number(data.get("mde")) / 100;
  else body.days = Number(data.get("days"));
  say("plan-result", "Planning…");
  try {
    const p = await api("POST", "/v1/planner", body);
    if (solve === "days") {
      say("plan-result", p.days_needed === null ? "Not reachable with this traffic."
        : `${int(p.days_needed)} days needed to detect ${lift(p.mde)} (${int(p.units_per_variant)} units per variant, ${pct(p.power)} power, α ${p.alpha}).`, "ok");
    } else {
      say("plan-result", p.mde_reachable === null ? "No lift is detectable in that time."
        : `In ${num(p.days)} days the smallest detectable lift is ${lift(p.mde_reachable)} (${pct(p.power)} power, α ${p.alpha}).`, "ok");
    }
  } catch (error) {
    say("plan-result", `Could not plan: ${error.message}`, "bad");
  }
}
function syncPlannerInputs() {
  const form = $("planner-form");
  const solve = new FormData(form).get("solve");
  form.elements.mde.disabled = solve !== "days";
  form.elements.days.disabled = solve !== "mde";
}

// ---------------------------------------------------------------- program KPIs
async function loadProgram() {
  await busy("program-section", async () => {
    const cost = $("program-cost").value;
    const k = await get(`/v1/program${cost !== "" ? `?cost=${encodeURIComponent(cost)}` : ""}`);
    fill("program", k.rows.map((row) => [
      el("th", { scope: "row", text: METRICS[row.metric] || row.metric }),
      numCell(metricValue(row.metric, row.holdout)), numCell(metricValue(row.metric, row.program)),
      el("td", { className: "num" + (row.lift > 0 ? " ok" : row.lift < 0 ? " bad" : ""), text: lift(row.lift) }),
      cell(interval(row.ci)), numCell(pValue(row.p_value)),
    ]));
    facts("program-facts", [
      ["Holdout units", int(k.holdout_units)], ["Program units", int(k.program_units)],
      ["Incremental revenue", num(k.incremental_revenue)], ["Cost", num(k.cost)],
      ["ROI", k.roi === null ? (k.cost ? missing : "enter the cost") : pct(k.roi)],
    ]);
    say("program-status", k.holdout_units < 2 ? "The holdout has too few visitors for a comparison yet." : "");
  });
}

// ---------------------------------------------------------------- backlog
async function loadBacklog() {
  await busy("backlog-section", async () => {
    const b = await get("/v1/backlog");
    fill("backlog", b.items.map((item, i) => [
      numCell(String(i + 1)),
      el("th", { scope: "row", text: item.title }), cell(item.target_segment || "everyone"),
      numCell(lift(item.expected_uplift)), numCell(num(item.expected_monthly_gain)), numCell(num(item.effort_days)),
      numCell(item.days_to_detect === null ? "not detectable" : int(item.days_to_detect)),
      cell(item.feasible ? "yes" : "no", item.feasible ? "ok" : "warn"),
      el("td", { className: "assumptions" }, item.assumptions.length ? el("ul", {}, ...item.assumptions.map((a) => el("li", { text: a }))) : "none"),
    ]), "The backlog is empty: add a use case below.");
    say("backlog-status", `Feasible: detectable within ${b.horizon_days} days at 80 % power; then ranked by monthly gain per day of effort.`);
  });
}

async function addBacklogItem(form) {
  const data = new FormData(form);
  const optional = (name, scale = 1) => (data.get(name) === "" ? undefined : Number(data.get(name)) / scale);
  const body = {
    title: data.get("title").trim(), expected_uplift: Number(data.get("expected_uplift")) / 100,
    revenue_at_stake: Number(data.get("revenue_at_stake")), effort_days: Number(data.get("effort_days")),
    target_segment: data.get("target_segment").trim() || undefined,
    baseline_rate: optional("baseline_rate", 100), daily_traffic: optional("daily_traffic"),
  };
  try {
    const item = await api("POST", "/v1/backlog", body);
    say("backlog-form-status", "");
    say("backlog-status", `Added “${item.title}”: ${item.feasible ? "feasible" : "not feasible"} (${item.days_to_detect === null ? "not detectable" : `${item.days_to_detect} days to detect`}).`, "ok");
    form.reset();
    await loadBacklog();
  } catch (error) {
    say("backlog-form-status", `Not added: ${error.message}`, "bad");
  }
}

// ---------------------------------------------------------------- models
async function loadModels() {
  await busy("models-section", async () => {
    const models = await get("/v1/models");
    fill("models", models.map((m) => [
      el("th", { scope: "row" }, el("code", { text: m.model_version })), cell(m.algorithm), cell(when(m.trained_at)),
      numCell(int(m.items)), numCell(int(m.subjects)),
      cell(m.serving ? "serving" : "no", m.serving ? "ok" : ""),
      cell(m.retrain_required ? "yes: an erasure touched its training data" : "no", m.retrain_required ? "bad" : ""),
      numCell(int(m.erasures)),
    ]), "No model published yet (persona publish).");
  });
}

// ---------------------------------------------------------------- privacy
const HELD = ["contact_not_on_file", "no_contact_on_file"]; // requests that got no link: staff verify the person
let verifying = null; // the request the staff-verification form is about
async function loadPrivacy() {
  return busy("privacy-section", async () => {
    const queue = await get("/v1/privacy-requests");
    fill("queue", queue.requests.map((r) => [
      cell(r.request_id), cell(r.type), cell(r.status),
      // Held without a link (not the address on file, or none on file): staff verify the person another way.
      cell(words(r.verification), HELD.includes(r.verification) ? "warn" : ""),
      cell(when(r.due_at)),
      cell(words(r.flag), r.flag === "overdue" ? "bad" : r.flag === "at_risk" ? "warn" : ""),
      cell(Object.keys(r.tasks || {}).sort().join(", ")),
      el("td", {}, el("button", { type: "button", className: "secondary", text: "Audit trail", "aria-label": `Audit trail of ${r.request_id}`,
        "aria-controls": "audit", onclick: () => showAudit(r.request_id) }),
        r.status === "pending_verification" && HELD.includes(r.verification)
          ? el("button", { type: "button", className: "secondary", text: "Verify…", "aria-label": `Verify the person behind ${r.request_id}`,
            "aria-controls": "staff-verify", onclick: () => showStaffVerify(r.request_id) }) : null),
    ]), "No privacy requests.");
    const outbox = await get("/v1/privacy-outbox");
    fill("outbox", outbox.map((m) => [cell(when(m.created_at)), cell(m.to), cell(m.request_id),
      el("td", {}, el("a", { href: m.link, text: "confirmation link" }))]), "No messages.");
    return { requests: queue.requests.length, messages: outbox.length };
  });
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}T/;
function describeValue(v) {
  if (Array.isArray(v)) return v.join(", ");
  if (v !== null && typeof v === "object") return JSON.stringify(v);
  if (typeof v === "string") return ISO_DATE.test(v) ? when(v) : words(v);
  return String(v);
}
function describeStep(detail) {
  return Object.entries(detail || {}).map(([k, v]) => `${words(k)}: ${describeValue(v)}`).join(" · ");
}

function showStaffVerify(requestId) {
  verifying = requestId;
  $("staff-verify").hidden = false;
  $("staff-verify-title").textContent = `Verify the person behind request ${requestId}`;
  $("staff-verify-note").value = "";
  say("staff-verify-status", "");
  $("staff-verify").focus();
}

async function staffVerify() {
  try {
    const answer = await api("POST", `/v1/privacy-requests/${encodeURIComponent(verifying)}/staff-verification`,
      { note: $("staff-verify-note").value });
    const status = $("staff-verify-status");
    status.replaceChildren("Verified: the request is in progress. Give the person this link through the channel you checked: ",
      el("a", { href: answer.status_link, text: "their request's status and download" }));
    status.className = "ok";
    await loadPrivacy();
  } catch (error) {
    say("staff-verify-status", `Could not verify: ${error.message}`, "bad");
  }
}

async function showAudit(requestId) {
  const panel = $("audit");
  panel.hidden = false;
  $("audit-title").textContent = `Audit trail of request ${requestId}`;
  $("audit-steps").replaceChildren(el("li", { text: "Loading…" }));
  try {
    const trail = await get(`/v1/privacy-requests/${encodeURIComponent(requestId)}/audit`);
    $("audit-steps").replaceChildren(...(trail.entries.length ? trail.entries.map((e) => el("li", {},
      el("strong", { text: words(e.step) }), " ", el("time", { datetime: e.at, text: when(e.at) }),
      e.detail && Object.keys(e.detail).length ? el("span", { className: "detail", text: describeStep(e.detail) }) : null))
      : [el("li", { text: "No steps recorded." })]));
  } catch (error) {
    $("audit-steps").replaceChildren(el("li", { className: "bad", text: `Could not load: ${error.message}` }));
  }
  panel.focus();
}

// ---------------------------------------------------------------- the whole page
// Where the load summary goes: next to the key form locally, next to the sign-in button in AWS.
const loadStatus = () => (AUTH ? "sign-in-status" : "key-status");

async function show() {
  say(loadStatus(), "Loading…");
  let counts;
  try {
    counts = await loadPrivacy(); // the key is checked here first
  } catch (error) {
    say(loadStatus(), `Could not load: ${error.message}`, "bad");
    return;
  }
  const sections = [["Imports", loadImports, "imports-status"], ["Segments", loadSegments, "segments-status"],
    ["Experiments", loadExperiments, "experiments-status"], ["Program KPIs", loadProgram, "program-status"],
    ["Backlog", loadBacklog, "backlog-status"], ["Models", loadModels, "models-status"]];
  const outcomes = await Promise.allSettled(sections.map(([, load]) => load()));
  const failed = [];
  outcomes.forEach((outcome, i) => {
    if (outcome.status !== "rejected") return;
    const [name, , statusId] = sections[i];
    failed.push(name);
    say(statusId, `Could not load: ${outcome.reason.message}`, "bad");
  });
  const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
  say(loadStatus(), `${plural(counts.requests, "privacy request")}, ${plural(counts.messages, "message")} in the outbox${failed.length ? `; could not load ${failed.join(", ")}` : ""}`,
    failed.length ? "warn" : "ok");
}

function onSubmit(id, handler) {
  $(id).addEventListener("submit", (event) => {
    event.preventDefault();
    handler(event.target);
  });
}

onSubmit("key-form", () => {
  sessionStorage.setItem(KEY_STORAGE, $("api-key").value);
  show();
});
onSubmit("profile-form", () => lookUpProfile($("profile-id").value.trim()));
onSubmit("experiment-form", createExperiment);
onSubmit("results-form", loadResults);
onSubmit("conclusion-form", saveConclusion);
onSubmit("staff-verify-form", staffVerify);
onSubmit("planner-form", plan);
onSubmit("program-form", () => loadProgram().catch((error) => say("program-status", `Could not load: ${error.message}`, "bad")));
onSubmit("backlog-form", addBacklogItem);
$("add-variant").addEventListener("click", () => {
  $("variant-rows").append(variantRow());
  renumberVariants();
  $("variant-rows").lastElementChild.querySelector("input").focus();
});
$("planner-form").addEventListener("change", syncPlannerInputs);
resetVariants();
syncPlannerInputs();

// The nav marks the section in view.
const navLinks = [...document.querySelectorAll("nav.sections a")];
if ("IntersectionObserver" in window) {
  const observer = new IntersectionObserver((entries) => {
    for (const entry of entries) {
      if (!entry.isIntersecting) continue;
      navLinks.forEach((a) => (a.getAttribute("href") === `#${entry.target.id}` ? a.setAttribute("aria-current", "true") : a.removeAttribute("aria-current")));
    }
  }, { rootMargin: "-20% 0px -70% 0px" });
  document.querySelectorAll("main > section").forEach((s) => observer.observe(s));
}

// ---------------------------------------------------------------- staff sign-in (AWS)
const base64url = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const randomString = () => base64url(crypto.getRandomValues(new Uint8Array(32)));
const redirectUri = () => location.origin + location.pathname;

function signedInToken() {
  const saved = JSON.parse(sessionStorage.getItem(TOKEN_STORAGE) || "null");
  return saved && saved.expires > Date.now() ? saved.token : null;
}

async function signIn() {
  const verifier = randomString(), state = randomString();
  sessionStorage.setItem(PKCE_STORAGE, JSON.stringify({ verifier, state }));
  const challenge = base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  const query = new URLSearchParams({ response_type: "code", client_id: AUTH.clientId, redirect_uri: redirectUri(),
    scope: "openid email", state, code_challenge: challenge, code_challenge_method: "S256" });
  location.assign(`${AUTH.domain}/oauth2/authorize?${query}`);
}

async function finishSignIn(params) {
  const pending = JSON.parse(sessionStorage.getItem(PKCE_STORAGE) || "null");
  sessionStorage.removeItem(PKCE_STORAGE);
  history.replaceState(null, "", redirectUri() + location.hash); // the code is single-use: off the address bar
  if (!pending || pending.state !== params.get("state")) throw new Error("the sign-in did not start here; sign in again");
  const response = await fetch(`${AUTH.domain}/oauth2/token`, {
    method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "authorization_code", client_id: AUTH.clientId, code: params.get("code"),
      redirect_uri: redirectUri(), code_verifier: pending.verifier }),
  });
  const tokens = await response.json().catch(() => ({}));
  if (!response.ok || !tokens.id_token) throw new Error(tokens.error || `the sign-in service answered ${response.status}`);
  sessionStorage.setItem(TOKEN_STORAGE, JSON.stringify({ token: tokens.id_token, expires: Date.now() + (tokens.expires_in || 3600) * 1000 }));
}

async function start() {
  if (!AUTH) {
    if (sessionStorage.getItem(KEY_STORAGE)) show();
    return;
  }
  $("key-form").hidden = true;
  $("sign-in").hidden = false;
  $("sign-in-button").addEventListener("click", () => signIn().catch((error) => say("sign-in-status", error.message, "bad")));
  const params = new URLSearchParams(location.search);
  try {
    if (params.get("error")) throw new Error(params.get("error_description") || params.get("error"));
    if (params.get("code")) await finishSignIn(params);
  } catch (error) {
    say("sign-in-status", `Could not sign in: ${error.message}`, "bad");
    return;
  }
  if (!signedInToken()) return;
  $("sign-in-button").textContent = "Sign in again";
  show();
}

start();
