// Show every <time> in the viewer's own time zone. Everything works without it.
function localiseTimes(root) {
  for (const el of root.querySelectorAll("time[datetime]")) {
    const d = new Date(el.getAttribute("datetime"));
    if (!isNaN(d)) { el.title = el.textContent; el.textContent = d.toLocaleString(); }
  }
}
document.addEventListener("DOMContentLoaded", () => localiseTimes(document));
document.addEventListener("htmx:afterSwap", (e) => localiseTimes(e.target));
