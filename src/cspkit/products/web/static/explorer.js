// Issue explorer: when the district changes, the issue list is refreshed from
// /api/explorer/issues (the issues held for that district), keeping the chosen issue where it
// is held there. The form still submits as a plain GET.
(function () {
  "use strict";
  var form = document.getElementById("explorer-form");
  if (!form) return;
  var area = form.querySelector("#ex-area");
  var issue = form.querySelector("#ex-issue");

  function refresh() {
    var chosen = issue.value;
    fetch("/api/explorer/issues?area=" + encodeURIComponent(area.value), {
      headers: { "Accept": "application/json" }, credentials: "same-origin"
    }).then(function (r) { return r.ok ? r.json() : null; }).then(function (data) {
      if (!data) return;
      while (issue.firstChild) issue.removeChild(issue.firstChild);
      var groups = {};
      data.issues.forEach(function (i) {
        if (!groups[i.group]) {
          groups[i.group] = document.createElement("optgroup");
          groups[i.group].label = i.group;
          issue.appendChild(groups[i.group]);
        }
        var option = document.createElement("option");
        option.value = i.key;
        option.textContent = i.title + (i.restricted ? " (restricted)" : "");
        if (i.key === chosen) option.selected = true;
        groups[i.group].appendChild(option);
      });
    }).catch(function () { /* the server-rendered list stays */ });
  }

  area.addEventListener("change", refresh);
  // The selected area outlined on the map, and marked as the current one for assistive tech.
  var chosenArea = document.querySelector(".explorer-selected[data-code]");
  if (chosenArea) {
    document.querySelectorAll("svg.map path[data-code]").forEach(function (path) {
      if (path.getAttribute("data-code") !== chosenArea.getAttribute("data-code")) return;
      path.classList.add("selected");
      if (path.parentNode && path.parentNode.tagName.toLowerCase() === "a") {
        path.parentNode.setAttribute("aria-current", "true");
      }
    });
  }
  if (location.hash === "#selected") {
    var heading = document.getElementById("selected");
    if (heading) heading.focus();
  }
})();
