// zaplite console: refresh the zaps table while the page is open and visible.
// No framework, nothing fetched from elsewhere: the server renders every row.
(function () {
  "use strict";
  function refresh(box) {
    var seconds = parseInt(box.getAttribute("data-refresh"), 10) || 5;
    setInterval(function () {
      if (document.hidden) { return; }
      fetch(window.location.href, {headers: {"X-Zaplite-Partial": "1"}, credentials: "same-origin"})
        .then(function (response) { return response.ok ? response.text() : null; })
        .then(function (html) {
          if (html === null) { return; }
          var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("zaps");
          var old = box.querySelector("#zaps");
          if (fresh && old) { old.replaceWith(document.importNode(fresh, true)); }
        })
        .catch(function () { /* the daemon may be restarting: try again at the next tick */ });
    }, seconds * 1000);
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-refresh]").forEach(refresh);
  });
})();
