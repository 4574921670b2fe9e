// The search page: filters sit in a <details> that starts closed on phones (to keep results
// in view); on wider screens there is room, so it opens.
(function () {
  "use strict";
  var box = document.getElementById("filters-box");
  if (box && window.matchMedia("(min-width: 601px)").matches) box.open = true;
})();
