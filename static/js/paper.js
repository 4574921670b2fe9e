// The paper page: copy the BibTeX entry. The button stays hidden where it cannot work
// (without JavaScript), and falls back to selecting the text outside secure contexts.
(function () {
  "use strict";
  document.querySelectorAll("[data-copy-target]").forEach(function (button) {
    var source = document.getElementById(button.getAttribute("data-copy-target"));
    var status = button.parentElement.querySelector(".copy-status");
    if (!source) return;
    button.hidden = false;

    function say(message) {
      if (status) status.textContent = message;
    }

    function selectText() {
      var range = document.createRange();
      range.selectNodeContents(source);
      var selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
    }

    button.addEventListener("click", function () {
      var text = source.textContent;
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(
          function () { say("Copied."); },
          function () { selectText(); say("Selected: press Ctrl+C to copy."); }
        );
      } else {
        selectText();
        say(document.execCommand && document.execCommand("copy") ? "Copied." : "Selected: press Ctrl+C to copy.");
      }
    });
  });
})();
