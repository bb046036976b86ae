// Custom area: map areas toggle the matching checkbox (and the reverse); the form and the
// GeoJSON upload ask /api/custom-area for the profile and show it without reloading. The page
// works without this script (the list is a GET form), except for the upload.
(function () {
  "use strict";
  var MAX_BYTES = 2 * 1024 * 1024;

  function csrfHeaders() {
    var headers = { "Content-Type": "application/json", "Accept": "application/json" };
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta && meta.getAttribute("content")) {
      headers["X-CSRF-Token"] = meta.getAttribute("content");
    }
    return headers;
  }

  function say(text, problem) {
    var status = document.getElementById("ca-status");
    status.textContent = text;
    status.className = "status" + (problem ? " problem" : "");
  }

  function detailText(detail) {
    if (typeof detail === "string") return detail;
    if (Array.isArray(detail)) {
      return detail.map(function (d) { return (d.loc || []).join(".") + ": " + d.msg; }).join("; ");
    }
    return "the request failed";
  }

  function showProfile(body) {
    say("Working out the profile…", false);
    return fetch("/api/custom-area", {
      method: "POST", headers: csrfHeaders(), body: JSON.stringify(body),
      credentials: "same-origin"
    }).then(function (response) {
      return response.json().then(function (data) { return { ok: response.ok, data: data }; },
        function () { return { ok: false, data: { detail: "HTTP " + response.status } }; });
    }).then(function (answer) {
      if (!answer.ok) {
        say("Could not make the profile: " + detailText(answer.data.detail), true);
        return;
      }
      var result = document.getElementById("ca-result");
      result.innerHTML = answer.data.html;
      result.querySelectorAll("table.sortable").forEach(function (t) {
        if (window.cspkit && window.cspkit.makeSortable) window.cspkit.makeSortable(t);
      });
      say("Profile of " + answer.data.name + " (" + answer.data.lsoas.length + " LSOAs) shown below.", false);
      var heading = document.getElementById("ca-result-heading");
      heading.setAttribute("tabindex", "-1");
      heading.focus();
    }).catch(function () {
      say("Could not reach the dashboard to make the profile.", true);
    });
  }

  function init() {
    var form = document.getElementById("ca-form");
    if (!form) return;
    var level = form.getAttribute("data-level");
    var count = document.getElementById("ca-count");

    function box(code) { return document.getElementById("ca-" + code); }
    function path(code) {
      return document.querySelector('.select-map path[data-code="' + code + '"]');
    }
    function chosen() {
      return Array.prototype.map.call(
        form.querySelectorAll('input[type="checkbox"]:checked'), function (b) { return b.value; });
    }
    function refresh() { count.textContent = chosen().length + " selected"; }

    document.querySelectorAll('.select-map path[role="button"]').forEach(function (p) {
      function toggle() {
        var b = box(p.getAttribute("data-code"));
        if (!b) return;
        b.checked = !b.checked;
        p.setAttribute("aria-pressed", b.checked ? "true" : "false");
        refresh();
      }
      p.addEventListener("click", toggle);
      p.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); toggle(); }
      });
    });
    form.querySelectorAll('input[type="checkbox"]').forEach(function (b) {
      b.addEventListener("change", function () {
        var p = path(b.value);
        if (p) p.setAttribute("aria-pressed", b.checked ? "true" : "false");
        refresh();
      });
    });
    document.getElementById("ca-clear").addEventListener("click", function () {
      form.querySelectorAll('input[type="checkbox"]:checked').forEach(function (b) {
        b.checked = false;
        var p = path(b.value);
        if (p) p.setAttribute("aria-pressed", "false");
      });
      refresh();
    });
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var codes = chosen();
      if (!codes.length) { say("Choose at least one area first.", true); return; }
      var body = { area: form.getAttribute("data-area") };
      body[level === "ward" ? "wards" : "lsoas"] = codes;
      var year = document.getElementById("ca-year").value.trim();
      if (year) {
        if (!/^[0-9]{4}$/.test(year)) { say("The year must be four digits, e.g. 2023.", true); return; }
        body.year = Number(year);
      }
      showProfile(body);
    });

    var upload = document.getElementById("ca-upload");
    upload.addEventListener("submit", function (e) {
      e.preventDefault();
      var file = document.getElementById("ca-file").files[0];
      if (!file) { say("Choose a GeoJSON file first.", true); return; }
      if (file.size > MAX_BYTES) {
        say("The file is larger than 2 MB: simplify the polygon (fewer points) and try again.", true);
        return;
      }
      file.text().then(function (text) {
        var geometry;
        try { geometry = JSON.parse(text); } catch (err) {
          say("The file is not valid JSON: " + err.message, true);
          return;
        }
        if (geometry === null || typeof geometry !== "object" || Array.isArray(geometry)) {
          say("The file does not hold a GeoJSON object.", true);
          return;
        }
        showProfile({ geometry: geometry, area: upload.getAttribute("data-area") });
      });
    });
  }

  document.addEventListener("DOMContentLoaded", init);
})();
