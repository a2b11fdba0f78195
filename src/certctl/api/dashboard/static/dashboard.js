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

  // On narrow screens the menu folds behind its button (without this script it stays open).
  var toggle = document.querySelector(".menu-toggle");
  var menu = document.getElementById("sidenav");
  if (toggle && menu) {
    document.body.classList.add("menu-folds");
    toggle.addEventListener("click", function () {
      var open = menu.classList.toggle("open");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    });
  }

  // A requeued notification is watched until its next attempt ends: if it dies again
  // the page says so, with the cause, without a reload.
  var watch = document.querySelector("[data-watch]");
  if (watch) {
    watchNotification(watch, watch.getAttribute("data-watch"), 0);
  }

  // Buttons with data-confirm ask before their form is sent.
  document.querySelectorAll("button[data-confirm]").forEach(function (button) {
    button.addEventListener("click", function (event) {
      if (!window.confirm(button.getAttribute("data-confirm"))) {
        event.preventDefault();
      }
    });
  });
});

var WATCH_EVERY_MS = 2000;
var WATCH_LIMIT = 900; // half an hour of polls, then the page stops asking

function watchNotification(region, id, polls) {
  if (polls >= WATCH_LIMIT) {
    return;
  }
  fetch("/notifications/" + encodeURIComponent(id) + "/state", {
    credentials: "same-origin",
    headers: { "Accept": "application/json" }
  }).then(function (answer) {
    var json = (answer.headers.get("Content-Type") || "").indexOf("application/json") === 0;
    if (!answer.ok || !json) {
      throw new Error("no state");
    }
    return answer.json();
  }).then(function (state) {
    var done = showState(region, state);
    if (!done) {
      window.setTimeout(function () { watchNotification(region, id, polls + 1); }, WATCH_EVERY_MS);
    }
  }).catch(function () {
    region.textContent = "The requeued notification could not be checked; reload the page to see it.";
  });
}

function showState(region, state) {
  var attempt = "attempt " + state.attempts + " of " + state.max_attempts;
  if (state.status === "dead") {
    region.className = "watch alert";
    region.textContent = "The requeued " + state.channel + " notification died again (" +
      attempt + "): " + state.last_error;
    var link = document.createElement("a");
    link.href = "/notifications?tab=dead";
    link.textContent = "Show the dead-letter list";
    region.appendChild(document.createTextNode(" "));
    region.appendChild(link);
    return true;
  }
  if (state.status === "sent" || state.status === "read") {
    region.className = "watch flash";
    region.textContent = "The requeued " + state.channel + " notification was delivered (" + attempt + ").";
    return true;
  }
  if (state.status === "failed") {
    region.textContent = "The requeued " + state.channel + " notification failed (" + attempt +
      ") and will be retried: " + state.last_error;
  }
  return false;
}
