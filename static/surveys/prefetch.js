/* The next page's scans, fetched into the browser's cache while the reader is on this page (the platform serves
   them as immutable), so that the next page's downloads are answered from the cache instead of the network.
   A page with viewers starts when its own scans are shown (viewer.js's "viewers-ready"), other pages once loaded;
   body[data-prefetched] marks the end. */
(function () {
  "use strict";
  function prefetch() {
    var urls = JSON.parse(document.getElementById("upcoming-scans").textContent);
    var left = urls.length;
    function settled() { left -= 1; if (left <= 0) { document.body.dataset.prefetched = "true"; } }
    if (!left) { settled(); }
    urls.forEach(function (url) {
      var link = document.createElement("link");
      link.rel = "prefetch";
      link.href = url;
      link.addEventListener("load", settled);
      link.addEventListener("error", settled);
      document.head.appendChild(link);
    });
  }
  if (document.querySelector(".scan")) {
    document.addEventListener("viewers-ready", prefetch);
  } else {
    window.addEventListener("load", prefetch);
  }
})();
