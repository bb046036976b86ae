// Reports page: start a build with POST /api/reports (the CSRF token from the page's meta),
// then poll GET /api/reports/jobs/{id} and show its progress, messages and files. Without
// script the form posts to /reports and the page shows the job when reloaded.
(function () {
  "use strict";

  var POLL_MS = 1000;

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function el(tag, text, attrs) {
    var node = document.createElement(tag);
    if (text) node.textContent = text;
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    return node;
  }

  function fileUrl(job, name) {
    return "/api/reports/jobs/" + encodeURIComponent(job.id) + "/files/" +
      name.split("/").map(encodeURIComponent).join("/");
  }

  function show(job) {
    var section = document.getElementById("report-job");
    section.hidden = false;
    section.setAttribute("data-job-id", job.id);
    section.setAttribute("data-state", job.state);
    document.getElementById("report-job-title").textContent = job.title;
    var progress = document.getElementById("report-progress");
    progress.max = Math.max(job.total, 1);
    progress.value = job.done;
    progress.textContent = job.done + " of " + job.total + " steps";
    var state = document.getElementById("report-state");
    var text;
    if (job.state === "done") text = "Built: the files are ready to download.";
    else if (job.state === "failed") text = "The build failed: " + (job.error || "unknown reason");
    else text = (job.state === "queued" ? "Queued" : "Running") + ": " + job.done + " of " +
      job.total + " steps done.";
    if (state.textContent !== text) state.textContent = text;   // announce changes only
    var messages = document.getElementById("report-messages");
    messages.textContent = "";
    job.messages.forEach(function (m) { messages.appendChild(el("li", m)); });
    var files = document.getElementById("report-files");
    files.textContent = "";
    job.files.forEach(function (f) {
      var li = el("li");
      li.appendChild(el("a", f.label, { href: fileUrl(job, f.name) + "?download=true", download: "" }));
      li.appendChild(document.createTextNode(" "));
      li.appendChild(el("span", f.name, { "class": "hint" }));
      if (f.kind === "html") {
        li.appendChild(document.createTextNode(" · "));
        var open = el("a", "open", { href: fileUrl(job, f.name) });
        open.appendChild(el("span", " " + f.label, { "class": "visually-hidden" }));
        li.appendChild(open);
      }
      files.appendChild(li);
    });
    document.getElementById("report-build").disabled = job.state === "queued" || job.state === "running";
  }

  function failed(message) {
    var section = document.getElementById("report-job");
    section.hidden = false;
    section.setAttribute("data-state", "failed");
    document.getElementById("report-state").textContent = message;
    document.getElementById("report-build").disabled = false;
  }

  function detail(body) {
    if (!body || body.detail === undefined) return "";
    if (typeof body.detail === "string") return body.detail;
    return body.detail.map(function (d) { return (d.loc || []).slice(-1)[0] + ": " + d.msg; }).join("; ");
  }

  function poll(id) {
    fetch("/api/reports/jobs/" + encodeURIComponent(id), { headers: { Accept: "application/json" } })
      .then(function (r) {
        return r.json().then(function (body) { return { ok: r.ok, status: r.status, body: body }; });
      })
      .then(function (res) {
        if (!res.ok) { failed("The job could not be read (HTTP " + res.status + "): " + detail(res.body)); return; }
        show(res.body);
        if (res.body.state === "queued" || res.body.state === "running") {
          window.setTimeout(function () { poll(id); }, POLL_MS);
        }
      })
      .catch(function () { window.setTimeout(function () { poll(id); }, POLL_MS * 3); });
  }

  function start(form) {
    var scope = form.querySelector('input[name="scope"]:checked');
    var body = {
      area: form.elements.area.value,
      period: form.elements.period.value,
      scope: scope ? scope.value : "district",
      pdf: form.elements.pdf.checked
    };
    document.getElementById("report-build").disabled = true;
    fetch("/api/reports", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json",
                 "X-CSRF-Token": csrfToken() },
      body: JSON.stringify(body)
    })
      .then(function (r) {
        return r.json().then(function (b) { return { ok: r.ok, status: r.status, body: b }; });
      })
      .then(function (res) {
        if (!res.ok) { failed("The report could not be started (HTTP " + res.status + "): " + detail(res.body)); return; }
        show(res.body);
        var url = new URL(window.location.href);
        url.searchParams.set("area", body.area);
        url.searchParams.set("period", body.period);
        url.searchParams.set("job", res.body.id);
        window.history.replaceState(null, "", url.toString());
        document.getElementById("report-state").focus();
        poll(res.body.id);
      })
      .catch(function (e) { failed("The report could not be started: " + e); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("report-form");
    if (!form || !window.fetch) return;
    document.getElementById("report-state").setAttribute("tabindex", "-1");
    form.addEventListener("submit", function (event) {
      if (!form.checkValidity()) return;
      event.preventDefault();
      start(form);
    });
    var section = document.getElementById("report-job");
    var id = section.getAttribute("data-job-id");
    var state = section.getAttribute("data-state");
    if (id && (state === "queued" || state === "running")) poll(id);
  });
})();
