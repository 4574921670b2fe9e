// Keyboard use on every page: "/" focuses the search box; j/k move through a list of results;
// Enter opens the focused one (it is a link); Escape leaves a text box (keeping its text) so
// j/k work again.
(function () {
  "use strict";

  function typing(target) {
    if (!target || !target.tagName) return false;
    var tag = target.tagName.toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable;
  }

  function searchBox() {
    return document.getElementById("q") || document.getElementById("header-q") || document.getElementById("text");
  }

  function resultLinks() {
    return Array.prototype.slice.call(document.querySelectorAll("ol.results .result-title a"));
  }

  function move(step) {
    var links = resultLinks();
    if (!links.length) return;
    var at = links.indexOf(document.activeElement);
    var next = at === -1 ? (step > 0 ? 0 : links.length - 1) : Math.min(links.length - 1, Math.max(0, at + step));
    links.forEach(function (link) { link.closest("li").classList.remove("current"); });
    links[next].closest("li").classList.add("current");
    links[next].focus();
    links[next].scrollIntoView({ block: "nearest" });
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    if (typing(target)) {
      if (event.key === "Escape" && target.blur) {
        // Leave the box but keep the query (a search box would otherwise clear itself).
        event.preventDefault();
        target.blur();
      }
      // From the search box, the down arrow goes to the first result.
      if (event.key === "ArrowDown" && target.id === "q" && resultLinks().length) {
        event.preventDefault();
        move(1);
      }
      return;
    }
    if (event.key === "/") {
      var box = searchBox();
      if (box) {
        event.preventDefault();
        box.focus();
        if (box.select) box.select();
      }
    } else if (event.key === "j") {
      move(1);
    } else if (event.key === "k") {
      move(-1);
    }
  });

  document.addEventListener("focusout", function (event) {
    var li = event.target.closest && event.target.closest("ol.results li.current");
    if (li) li.classList.remove("current");
  });
})();
// Every htmx region shows a failed request inside itself (a 400 is swapped in by the server's
// own message; a 5xx, a 429 or a lost connection would otherwise leave the old content with no
// word of what happened).
(function () {
  "use strict";
  function say(target, text) {
    if (!target) return;
    var note = document.createElement("p");
    note.className = "notice error";
    note.setAttribute("role", "alert");
    note.textContent = text;
    target.replaceChildren(note);
  }
  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    say(event.detail.target, status === 429
      ? "Too many requests just now. Wait a moment and try again."
      : "The server could not answer this request (status " + status + "). Try again in a moment.");
  });
  document.addEventListener("htmx:sendError", function (event) {
    say(event.detail.target, "Paperscope could not be reached. Check your connection and try again.");
  });
})();
