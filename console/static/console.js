// klaxon console: live updates over server-sent events, and keyboard
// shortcuts. Pages work without it.
(function () {
  "use strict";
  var body = document.body;
  var live = body.getAttribute("data-live");
  var mine = body.getAttribute("data-incident");

  // Live updates: refetch the page and swap its main part, unless the
  // person is typing in a form there (then say that it changed).
  var timer = null, busy = false, again = false;
  function typing() {
    var a = document.activeElement;
    if (!a || !document.getElementById("main").contains(a)) return false;
    var t = a.tagName;
    return (t === "INPUT" || t === "TEXTAREA" || t === "SELECT") && a.type !== "hidden" && (a.value !== "" || t === "SELECT");
  }
  function note(text) {
    var p = document.getElementById("live");
    if (p) p.textContent = text;
  }
  function refresh() {
    timer = null;
    if (busy) { again = true; return; }
    if (typing()) { note("This page has changed: reload to see it."); return; }
    busy = true;
    fetch(location.href, { credentials: "same-origin", headers: { "X-Klaxon-Live": "1" } }).then(function (r) {
      if (!r.ok) throw new Error(r.status);
      return r.text();
    }).then(function (html) {
      var doc = new DOMParser().parseFromString(html, "text/html");
      var fresh = doc.getElementById("main"), cur = document.getElementById("main");
      if (fresh && cur && !typing()) {
        cur.innerHTML = fresh.innerHTML;
        document.title = doc.title;
        note("Updated " + new Date().toLocaleTimeString() + ".");
      }
    }).catch(function () {
      note("Could not update this page: reload it.");
    }).then(function () {
      busy = false;
      if (again) { again = false; schedule(); }
    });
  }
  function schedule() {
    if (!timer) timer = setTimeout(refresh, 250);
  }
  if (live && window.EventSource) {
    var es = new EventSource("/ui/events");
    es.addEventListener("change", function (e) {
      if (live === "list" || e.data === "*" || e.data === mine) schedule();
    });
    es.addEventListener("open", function () { body.setAttribute("data-stream", "open"); });
    es.addEventListener("error", function () { body.setAttribute("data-stream", "retrying"); });
    window.addEventListener("pagehide", function () { es.close(); });
  }

  // Keyboard shortcuts.
  var pendingG = false;
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    var t = e.target, tag = t && t.tagName;
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (t && t.isContentEditable)) {
      if (e.key === "Escape") t.blur();
      return;
    }
    var help = document.getElementById("help");
    if (pendingG) {
      pendingG = false;
      if (e.key === "i") { location.href = "/ui/"; }
      return;
    }
    switch (e.key) {
      case "a": {
        var ack = document.querySelector('[data-key="a"]');
        if (ack && !ack.disabled) { e.preventDefault(); ack.click(); }
        break;
      }
      case "r": {
        var res = document.querySelector('[data-key="r"]');
        if (res) { e.preventDefault(); res.focus(); }
        break;
      }
      case "/": {
        var q = document.getElementById("q");
        if (q) { e.preventDefault(); q.focus(); q.select(); } else { location.href = "/ui/#q"; }
        break;
      }
      case "g":
        pendingG = true;
        break;
      case "?":
        if (help && help.showModal) { e.preventDefault(); help.open ? help.close() : help.showModal(); }
        break;
    }
  });
  if (location.hash === "#q") {
    var q = document.getElementById("q");
    if (q) q.focus();
  }
})();
