// Copy and print buttons of the receipt page (a classic script: the page works without it).
(function () {
  "use strict";
  var receipt = document.getElementById("receipt");
  var copy = document.getElementById("copy-receipt");
  var print = document.getElementById("print-receipt");
  if (!receipt || !copy || !print) return;
  var warning = document.getElementById("copy-receipt-warning");
  copy.hidden = false;
  print.hidden = false;
  if (warning) warning.hidden = false; // clipboards keep what was copied
  copy.addEventListener("click", function () {
    var text = receipt.textContent.trim();
    if (navigator.clipboard) {
      navigator.clipboard.writeText(text).then(function () {
        copy.textContent = copy.getAttribute("data-copied");
      });
    }
  });
  print.addEventListener("click", function () { window.print(); });
})();
