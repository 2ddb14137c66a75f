// Show every <time> in the viewer's own time zone. Everything works without it.
// A relative <time> ("in 2 h") keeps its text; its title becomes the local instant.
function localiseTimes(root) {
  for (const el of root.querySelectorAll("time[datetime]")) {
    const d = new Date(el.getAttribute("datetime"));
    if (isNaN(d)) continue;
    if (el.hasAttribute("data-relative")) { el.title = d.toLocaleString(); continue; }
    el.title = el.textContent; el.textContent = d.toLocaleString();
  }
}
document.addEventListener("DOMContentLoaded", () => localiseTimes(document));
document.addEventListener("htmx:afterSwap", (e) => localiseTimes(e.target));
