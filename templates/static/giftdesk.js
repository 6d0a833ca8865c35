// giftdesk console: keyboard shortcuts. Loaded with defer under script-src 'self'; no inline code.
// Every page works without it.
(function () {
  "use strict";
  function typing(el) {
    if (!el) return false;
    var tag = el.tagName;
    return el.isContentEditable || tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT";
  }
  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-row]"));
  }
  function move(step) {
    var all = rows();
    if (all.length === 0) return;
    var at = all.indexOf(document.activeElement);
    var next = at < 0 ? (step > 0 ? 0 : all.length - 1) : Math.min(all.length - 1, Math.max(0, at + step));
    all[next].focus();
  }
  document.addEventListener("keydown", function (e) {
    if (document.body.dataset.shortcuts === "off" || e.altKey || e.ctrlKey || e.metaKey) return;
    if (typing(document.activeElement)) {
      if (e.key === "Escape") document.activeElement.blur();
      return;
    }
    var help = document.getElementById("shortcuts");
    switch (e.key) {
      case "/":
        var q = document.getElementById("q");
        if (q) { e.preventDefault(); q.focus(); }
        break;
      case "j": move(1); break;
      case "k": move(-1); break;
      case "Enter":
        var row = document.activeElement;
        if (row && row.hasAttribute("data-row")) {
          var link = row.querySelector("a[href]");
          if (link) { e.preventDefault(); link.click(); }
        }
        break;
      case "?":
        if (help && typeof help.showModal === "function" && !help.open) { e.preventDefault(); help.showModal(); }
        break;
    }
  });
})();

// ---- Forms (issue 21, /cases/new and every form with an error summary) ----
// A form refused by the server comes back with its problems listed at the top: move the focus
// there so that a keyboard or screen-reader user starts from the list, whose links lead to the
// fields.
(function () {
  "use strict";
  function focusSummary() {
    var summary = document.getElementById("error-summary");
    if (summary) summary.focus();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", focusSummary);
  } else {
    focusSummary();
  }
})();
// ---- end of Forms ----

// ---- Admin console (issue 22): copy a secret shown once ----
// The secret sits in a readonly input that selects itself on focus, so it can always be copied by
// hand; where the Clipboard API is available a Copy button appears as well.
(function () {
  "use strict";
  function init() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-secret]"), function (input) {
      input.addEventListener("focus", function () { input.select(); });
    });
    Array.prototype.forEach.call(document.querySelectorAll("button[data-copy]"), function (button) {
      var input = document.getElementById(button.getAttribute("data-copy"));
      var status = document.querySelector("[data-copy-status]");
      if (!input || !navigator.clipboard || !navigator.clipboard.writeText) return;
      button.hidden = false;
      button.addEventListener("click", function () {
        navigator.clipboard.writeText(input.value).then(function () {
          if (status) status.textContent = "Copied to the clipboard.";
        }, function () {
          input.focus();
          if (status) status.textContent = "The browser refused to copy: the text is selected, press Ctrl+C (⌘C on a Mac).";
        });
      });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
// ---- end of Admin console ----
