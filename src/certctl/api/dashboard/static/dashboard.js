// certctl dashboard: progressive enhancement only; every page works without this file.
"use strict";

document.addEventListener("DOMContentLoaded", function () {
  // "Select all" boxes tick every row checkbox named by data-select-all.
  document.querySelectorAll("input[data-select-all]").forEach(function (master) {
    master.addEventListener("change", function () {
      var name = master.getAttribute("data-select-all");
      document.querySelectorAll('input[type=checkbox][name="' + name + '"]').forEach(function (box) {
        box.checked = master.checked;
      });
    });
  });

  // Buttons with data-confirm ask before their form is sent.
  document.querySelectorAll("button[data-confirm]").forEach(function (button) {
    button.addEventListener("click", function (event) {
      if (!window.confirm(button.getAttribute("data-confirm"))) {
        event.preventDefault();
      }
    });
  });
});
