/* Staff console: keyboard shortcuts and the few client-side helpers htmx does not cover. */
(function () {
  "use strict";
  // Ctrl+Enter (or Cmd+Enter) saves the form you are typing in: one keystroke for the operator.
  document.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) {
      var el = document.activeElement;
      var form = (el && el.form) || document.querySelector("form[data-hotkey]");
      if (form) { ev.preventDefault(); form.requestSubmit(); }
    }
    if (ev.key === "Escape") { closePanel(); }
    // Alt+1, Alt+2, Alt+3 take the first, second, third suggestion chip (the category on the intake
    // form, the lead unit on the dispatch form) without leaving the keyboard. ev.code, not ev.key:
    // Option+1 types a symbol on a Mac. Alt+letters are the menu's accesskeys; the digits are free.
    var digit = /^Digit([1-9])$/.exec(ev.code || "");
    if (digit && ev.altKey && !ev.ctrlKey && !ev.metaKey && !ev.shiftKey) {
      var chips = document.querySelectorAll("#triage-category-chips [data-fill], #triage-unit-chips [data-fill]");
      var chip = chips[Number(digit[1]) - 1];
      if (chip) { ev.preventDefault(); chip.click(); }
    }
  });
  function closePanel() {
    var p = document.getElementById("panel");
    if (p && !p.hidden) { p.hidden = true; p.innerHTML = ""; }
  }
  window.hotlineClosePanel = closePanel;
  document.addEventListener("htmx:afterSwap", function (ev) {
    var t = ev.detail.target;
    if (t && t.id === "panel") {
      t.hidden = false;
      var first = t.querySelector("textarea, select, input:not([type=hidden])");
      if (first) { first.focus(); }
    }
  });
  document.addEventListener("click", function (ev) {
    var b = ev.target.closest("[data-use-answer]");
    if (b) {  // a knowledge-base article becomes the direct answer
      var answer = document.getElementById("id_answer");
      var disp = document.getElementById("id_disposition");
      if (answer) { answer.value = b.getAttribute("data-use-answer"); }
      var used = document.getElementById("id_kb_article");  // the article's usage count
      if (used) { used.value = b.getAttribute("data-article") || ""; }
      if (disp) { disp.value = "direct_answer"; disp.dispatchEvent(new Event("change")); }
      if (answer) { answer.focus(); }
    }
    var m = ev.target.closest("[data-merge-into]");
    if (m) {  // one-click merge of a repeat: disposition = 并单, target filled, saved
      var into = document.getElementById("id_merge_into");
      var d = document.getElementById("id_disposition");
      into.value = m.getAttribute("data-merge-into");
      d.value = "merge";
      d.dispatchEvent(new Event("change"));
      document.getElementById("intake-form").requestSubmit();
    }
    var r = ev.target.closest("[data-repeat-of]");
    if (r) {  // a repeat of an order closed within the window: a linked 重办, never a merge into it
      document.getElementById("id_repeat_of").value = r.getAttribute("data-repeat-of");
      var disp2 = document.getElementById("id_disposition");
      disp2.value = "repeat_rework";
      disp2.dispatchEvent(new Event("change"));
      document.getElementById("intake-form").requestSubmit();
    }
    if (ev.target.closest("[data-close-panel]")) { closePanel(); }
    if (ev.target.closest("[data-print]")) { ev.preventDefault(); window.print(); }
    var f = ev.target.closest("[data-fill]");
    if (f) {  // a suggestion chip fills its field (no inline handlers: the CSP allows no inline script)
      var field = document.getElementById(f.getAttribute("data-fill"));
      if (field) {
        field.value = f.getAttribute("data-value");
        if (f.hasAttribute("data-fill-change")) { field.dispatchEvent(new Event("change", {bubbles: true})); }
      }
    }
  });
  // Show only the disposition fields that matter.
  function syncDisposition() {
    var d = document.getElementById("id_disposition");
    if (!d) { return; }
    document.querySelectorAll("[data-for-disposition]").forEach(function (el) {
      el.hidden = el.getAttribute("data-for-disposition").split(" ").indexOf(d.value) < 0;
    });
    var s = document.getElementById("id_source");
    document.querySelectorAll("[data-upstream]").forEach(function (el) { el.hidden = !s || s.value !== "upstream"; });
  }
  document.addEventListener("change", function (ev) {
    if (ev.target.id === "id_disposition" || ev.target.id === "id_source") { syncDisposition(); }
    if (ev.target.matches("select[data-autosubmit]")) { ev.target.form.submit(); }  // the language switch
  });
  document.addEventListener("DOMContentLoaded", syncDisposition);
  // Searchable pickers: a filter box before each select[data-searchable] (the dispatch form's units)
  // keeps the options whose name, full name or code contain what is typed; with one left, it is chosen.
  function searchable(root) {
    root.querySelectorAll("select[data-searchable]:not([data-searchable-ready])").forEach(function (sel) {
      sel.setAttribute("data-searchable-ready", "");
      var box = document.createElement("input");
      box.type = "search";
      box.className = "picker-search";
      box.placeholder = sel.getAttribute("data-searchable") || "筛选";
      box.setAttribute("aria-controls", sel.id);
      box.setAttribute("data-picker-for", sel.id);
      sel.parentNode.insertBefore(box, sel);
      if (document.activeElement === sel) { box.focus(); }  // the panel focused the picker: type at once
      box.addEventListener("input", function () {
        var q = box.value.trim().toLowerCase();
        var shown = [];
        Array.prototype.forEach.call(sel.options, function (opt) {
          var text = ((opt.getAttribute("data-search") || "") + " " + opt.text).toLowerCase();
          var keep = !q || text.indexOf(q) >= 0;
          opt.hidden = !keep;
          if (keep && opt.value !== "") { shown.push(opt); }
        });
        if (!sel.multiple && q && shown.length && (sel.selectedIndex < 0 || sel.options[sel.selectedIndex].hidden)) {
          sel.value = shown[0].value;
        }
        if (!sel.multiple) { sel.size = q ? Math.min(Math.max(shown.length, 2), 8) : 0; }
      });
      box.addEventListener("keydown", function (ev) {
        if (ev.key === "Enter" && !(ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); sel.focus(); }
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () { searchable(document); });
  document.addEventListener("htmx:load", function (ev) { searchable(ev.detail.elt.parentNode || document); });
})();
