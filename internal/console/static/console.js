// console.js: local times, live fax statuses, and confirmation of
// destructive actions. Loaded as a file: the CSP allows no inline script.
(function () {
  "use strict";

  // Times arrive as UTC in <time datetime>; show them in the viewer's zone.
  function localTimes(root) {
    root.querySelectorAll("time[datetime]").forEach(function (t) {
      var d = new Date(t.getAttribute("datetime"));
      if (!isNaN(d)) {
        t.textContent = d.toLocaleString();
        t.title = t.getAttribute("datetime");
      }
    });
  }

  var finals = { sent: 1, failed: 1, canceled: 1, received: 1, partial: 1 };

  // Poll the faxes on the page that are not final and update their status
  // in place, without a reload.
  function poll() {
    var els = document.querySelectorAll("[data-fax-id][data-status]");
    var pending = [];
    els.forEach(function (el) {
      if (!finals[el.getAttribute("data-status")]) pending.push(el);
    });
    if (pending.length === 0) return;
    Promise.all(pending.map(function (el) {
      var id = el.getAttribute("data-fax-id");
      return fetch("/console/api/faxes/" + encodeURIComponent(id), { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (f) {
          if (!f || !f.status) return;
          el.setAttribute("data-status", f.status);
          el.textContent = f.status;
          el.className = "status status-" + f.status;
          var pages = document.querySelector("[data-pages-for='" + id + "']");
          if (pages) pages.textContent = f.pages_sent + " of " + f.pages;
        })
        .catch(function () {});
    })).then(function () { setTimeout(poll, 1500); });
  }

  document.addEventListener("submit", function (e) {
    var msg = e.target.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) e.preventDefault();
  });

  localTimes(document);
  setTimeout(poll, 1000);
})();
