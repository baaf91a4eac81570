"use strict";
// The verify view, the deploy and compliance panels, a replayed run's history and span
// files, and the start-up that picks the view the snapshot names.
const SCENARIOS_SHOWN = 300;
let filesPrefix = "";

const cell = (text, cls) => el("td", cls ? { class: cls } : {}, text === undefined || text === null ? "—" : String(text));
const fileLink = (name) => el("a", { href: "/files/" + filesPrefix + name + q }, name);

function drawSuite(ev) {
  $("suite-state").textContent = ev.ended ? "run ended" : "running";
  $("suite-elapsed").textContent = (ev.elapsed_s || 0).toFixed(1);
  const counts = ev.counts || {};
  const passed = counts.passed || 0, failed = counts.failed || 0;
  $("suite-done").textContent = ev.done;
  $("suite-done").dataset.value = ev.done;
  $("suite-passed").textContent = passed;
  $("suite-failed").textContent = failed;
  $("suite-failed").dataset.value = failed;
  $("suite-other").textContent = ev.done - passed - failed;
  $("suite-status").className = failed > 0 ? "red" : "";
  $("suite-status").dataset.state = failed > 0 ? "red" : "green";
  $("suite-running").textContent = ev.running ? ev.running.feature + " › " + ev.running.name + " (" + ev.running.location + ", " + ev.running.for_s.toFixed(1) + " s)" : "—";
  const rows = (ev.scenarios || []).slice(-SCENARIOS_SHOWN).reverse().map((s) => {
    const tr = el("tr", { "data-status": s.status });
    tr.appendChild(cell(s.status, "text st-" + s.status));
    const name = el("td", { class: "text" }, s.feature + " › " + s.name);
    name.appendChild(el("div", { class: "muted" }, s.location + (s.failure ? " — " + s.failure : "")));
    tr.appendChild(name);
    tr.appendChild(cell(s.seed));
    tr.appendChild(cell(s.duration_ms.toFixed(0)));
    const verdicts = el("td", { class: "text" });
    s.verdicts.forEach(([check, ok]) => verdicts.appendChild(el("div", { class: ok ? "st-passed" : "st-failed" }, (ok ? "✓ " : "✗ ") + check)));
    tr.appendChild(verdicts);
    return tr;
  });
  $("scenarios").tBodies[0].replaceChildren(...rows);
  $("claims-note").textContent = ev.claims_final ? "(final)" : "(as decided by the scenarios so far)";
  $("claims").tBodies[0].replaceChildren(...(ev.claims || []).map((c) => {
    const tr = el("tr", { "data-claim": c.id, "data-status": c.status });
    tr.appendChild(el("td", { class: "text", title: c.statement }, c.id));
    tr.appendChild(cell(c.status, "text st-" + c.status));
    tr.appendChild(cell(c.observed));
    tr.appendChild(cell(c.expected));
    return tr;
  }));
  const links = $("suite-reports");
  if ((ev.reports || []).length) {
    links.replaceChildren(document.createTextNode("report files: "));
    ev.reports.forEach((name) => { links.appendChild(fileLink(name)); links.appendChild(document.createTextNode(" ")); });
  }
  drawSwarm(ev.swarm);
  drawDeploys(ev.deploy ? ev.deploy[1] : null, ev.deploy ? "(scenario: " + ev.deploy[0] + ")" : "");
  drawControls(ev.controls ? ev.controls[1] : null, ev.controls ? "(scenario: " + ev.controls[0] + ")" : "");
}

/// The run this page charts: its totals, fault plan and the operations to pick from.
function setRun(r) {
  run = r;
  $("total").textContent = run.total_items;
  $("fault-plan").textContent = run.faults.length ? run.faults.join("; ") : "none configured";
  const sel = $("lat-kind");
  const kept = sel.value;
  sel.replaceChildren(...run.op_kinds.map((name) => el("option", { value: name }, name)));
  sel.value = run.op_kinds.includes(kept) ? kept : run.op_kinds.includes("work.claim") ? "work.claim" : run.op_kinds[0];
  if (!sel.dataset.bound) { sel.addEventListener("change", drawCharts); sel.dataset.bound = "1"; }
}

/// In the verify view, the running scenario's swarm, charted as a run's is (its own
/// verdicts judge it, so the invariant panel stays hidden); a new swarm starts fresh charts.
let swarmGeneration = 0;
function drawSwarm(sw) {
  const view = $("run-view");
  if (!sw) { view.hidden = true; return; }
  if (!view.dataset.moved) { $("suite-view").querySelector(".row").after(view); view.dataset.moved = "1"; }
  view.hidden = false;
  $("invariants").hidden = true;
  if (sw.generation !== swarmGeneration) {
    swarmGeneration = sw.generation;
    setRun(sw.run);
    ticks = [];
    received = 0;
  }
  if (sw.ticks && sw.ticks.length) ticks = sw.ticks.slice(-RING);
  const title = $("swarm-title");
  title.hidden = false;
  title.textContent = "Swarm of “" + sw.scenario + "”: " + sw.run.title;
  title.dataset.generation = sw.generation;
  apply(sw.event);
}

function drawDeploys(panel, note, box) {
  const target = box || $("deploys");
  if (!box) { $("deploy-view").hidden = !panel || !panel.pipelines.length; $("deploy-note").textContent = note; }
  if (!panel) return;
  target.replaceChildren(...panel.pipelines.map((p) => {
    const div = el("div", { class: "pipeline", "data-environment": p.environment, "data-outcome": p.outcome });
    div.appendChild(el("h2", {}, p.environment));
    const head = el("div", {});
    head.appendChild(document.createTextNode((p.previous || "?") + " → " + (p.version || "?") + " · " + (p.strategy || "no deploy") + " · "));
    head.appendChild(el("b", { class: "st-" + p.outcome }, p.outcome));
    div.appendChild(head);
    div.appendChild(el("div", {}, "instances: " + p.instances + " (" + p.ready_instances + " ready at last probe) · health windows: " + p.health_checks[0] + " (" + p.health_checks[1] + " unhealthy)" + (p.refused ? " · refused deploys: " + p.refused : "")));
    const batches = el("div", {});
    p.batches.forEach((b) => batches.appendChild(el("span", { class: "batch" + (b.outcome === "healthy" ? "" : " bad"), title: b.instances + " instance(s), " + b.outcome, "data-outcome": b.outcome }, "#" + b.index + " " + b.traffic_percent + "%")));
    div.appendChild(batches);
    if (p.rollback) div.appendChild(el("div", { class: "st-rolled_back", "data-rollback": p.rollback[0] }, "rolled back to " + p.rollback[0] + ": " + p.rollback[1]));
    p.promotions.forEach(([from, outcome, reason]) => div.appendChild(el("div", { class: "st-" + outcome }, "promotion from " + from + ": " + outcome + " (" + reason + ")")));
    const traffic = p.traffic.map(([v, served, failed]) => v + ": " + served + " requests, " + failed + " failed").join(" · ");
    if (traffic) div.appendChild(el("div", { class: "muted" }, "traffic — " + traffic));
    return div;
  }));
}

function drawControls(panel, note) {
  $("compliance-view").hidden = !panel;
  $("compliance-note").textContent = note;
  if (!panel) return;
  $("controls").replaceChildren(...panel.map((c) => {
    const row = el("div", { class: "check", "data-control": c.control, "data-state": c.state });
    row.appendChild(el("b", { class: "st-" + c.state.replace(" ", "-") }, c.state + " "));
    row.appendChild(document.createTextNode(c.control + (c.observed ? ": " + c.observed : "")));
    c.evidence.forEach((line) => row.appendChild(el("pre", {}, line)));
    return row;
  }));
}

function sparkline(points) {
  const svg = el("svg", { width: 160, height: 28, viewBox: "0 0 160 28" });
  const values = points.map((p) => p[1]).filter((v) => v !== null);
  if (values.length < 1) return svg;
  const lo = Math.min(...values), hi = Math.max(...values);
  const d = points.map((p, i) => [i, p]).filter(([, p]) => p[1] !== null).map(([i, p], k) => {
    const x = 4 + (points.length > 1 ? i / (points.length - 1) : 0) * 152;
    const y = 24 - (hi > lo ? (p[1] - lo) / (hi - lo) : 0.5) * 20;
    return (k ? "L" : "M") + x.toFixed(1) + " " + y.toFixed(1);
  }).join(" ");
  svg.appendChild(el("path", { svg: 1, d, fill: "none", stroke: "#1565c0", "stroke-width": 1.5 }));
  points.forEach((p, i) => {
    if (p[1] === null) return;
    const x = 4 + (points.length > 1 ? i / (points.length - 1) : 0) * 152;
    const y = 24 - (hi > lo ? (p[1] - lo) / (hi - lo) : 0.5) * 20;
    svg.appendChild(el("circle", { svg: 1, cx: x, cy: y, r: 2, fill: p[2] === "VERIFIED" ? "#2e7d32" : "#c62828" }));
  });
  return svg;
}

function drawHistory(history) {
  $("history-view").hidden = !history.runs.length;
  $("runs").tBodies[0].replaceChildren(...history.runs.slice().reverse().map((r) => {
    const tr = el("tr", { "data-run": r.run_id });
    tr.appendChild(cell(r.run_id, "text"));
    tr.appendChild(cell(r.passed ? "passed" : "failed", "text st-" + (r.passed ? "passed" : "failed")));
    tr.appendChild(cell(r.verified));
    tr.appendChild(cell(r.refuted));
    const link = el("td", { class: "text" });
    if (r.report) link.appendChild(el("a", { href: "/files/" + r.report + q }, "report.html"));
    tr.appendChild(link);
    return tr;
  }));
  $("trends").tBodies[0].replaceChildren(...history.trends.map((t) => {
    const tr = el("tr", { "data-trend": t.id, "data-points": t.points.length });
    tr.appendChild(cell(t.id, "text"));
    const chart = el("td", { class: "text" });
    chart.appendChild(sparkline(t.points));
    tr.appendChild(chart);
    const last = t.points[t.points.length - 1];
    tr.appendChild(cell(last && last[1] !== null ? last[1].toPrecision(4) + " " + t.unit : "—"));
    return tr;
  }));
}

function drawSpanFiles(files) {
  const view = $("spans-view");
  view.hidden = !files.length;
  view.replaceChildren(...files.map((f) => {
    const section = el("section", { "data-file": f.file, "data-state": f.invariants.checks.some((c) => c.offences > 0) ? "red" : "green" });
    section.appendChild(el("h2", {}, "Span file " + f.file + " — " + f.spans + " spans" + (f.skipped ? ", " + f.skipped + " fragments skipped" : "")));
    f.invariants.checks.forEach((c) => {
      const row = el("div", { class: "check " + (c.offences ? "red" : "green"), "data-check": c.name, "data-offences": c.offences });
      row.appendChild(el("b", {}, c.offences ? "✗ " : "✓ "));
      row.appendChild(document.createTextNode(c.name + ": " + c.offences));
      c.evidence.forEach((line) => row.appendChild(el("pre", {}, line)));
      section.appendChild(row);
    });
    const table = el("table", {});
    const head = el("tr", {});
    ["operation", "count", "p50 µs", "p99 µs"].forEach((h) => head.appendChild(el("th", {}, h)));
    table.appendChild(head);
    f.ops.forEach(([op, count, p50, p99]) => {
      const tr = el("tr", {});
      [op, count, p50.toFixed(1), p99.toFixed(1)].forEach((v, i) => tr.appendChild(cell(v, i ? "" : "text")));
      table.appendChild(tr);
    });
    section.appendChild(table);
    section.appendChild(el("div", {}, "crashes " + f.invariants.crashes + " · failed calls " + f.invariants.error_spans + " · reaps " + f.invariants.reaps));
    const timeline = el("svg", { width: 520, height: 90, viewBox: "0 0 520 90" });
    section.appendChild(timeline);
    drawTimeline(timeline, f.invariants.timeline, []);
    if (f.deploy.pipelines.length) {
      const box = el("div", {});
      section.appendChild(box);
      drawDeploys(f.deploy, "", box);
    }
    return section;
  }));
}

fetch("/api/snapshot" + q).then((r) => r.json()).then((snap) => {
  if (snap.mode === "run") {
    setRun(snap.run);
    ticks = snap.ticks.slice(-RING);
    $("title").textContent = run.title;
    apply(snap.latest);
  } else {
    $("run-view").hidden = true;
    $("suite-view").hidden = !snap.suite;
    filesPrefix = snap.files_prefix || "";
    $("title").textContent = snap.suite ? snap.suite.title : "replay of " + snap.replay.dir;
    if (snap.latest) drawSuite(snap.latest);
  }
  if (snap.mode === "replay") {
    $("status").textContent = "replay";
    drawHistory(snap.history);
    drawSpanFiles(snap.spans);
    document.body.dataset.ready = "1";
    return;
  }
  document.body.dataset.ready = "1";
  const source = new EventSource("/events" + q);
  const applyEvent = snap.mode === "run" ? apply : drawSuite;
  source.addEventListener("tick", (m) => applyEvent(JSON.parse(m.data)));
  source.onerror = () => {
    const status = snap.mode === "run" ? $("status") : $("suite-state");
    status.textContent = status.textContent === "run ended" ? "run ended (view closed)" : "disconnected";
  };
}).catch((e) => { $("title").textContent = "cannot load: " + e; });
