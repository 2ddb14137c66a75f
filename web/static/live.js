// Live notifications: keeps the header's unread count, and the list on /notifications,
// current from the server's event stream. Without it the server-rendered count stands.
(function () {
  "use strict";
  const link = document.getElementById("notifications-link");
  if (!link || !link.dataset.stream || !window.EventSource) return;

  function showCount(unread) {
    let badge = link.querySelector(".unread");
    if (unread > 0 && !badge) {
      badge = document.createElement("span");
      badge.className = "unread";
      link.append(" ", badge);
    }
    if (!badge) return;
    if (unread > 0) {
      badge.textContent = String(unread);
      badge.setAttribute("aria-label", unread + " unread");
    } else {
      const space = badge.previousSibling;
      if (space && space.nodeType === Node.TEXT_NODE && !space.textContent.trim()) space.remove();
      badge.remove();
    }
  }

  // The same markup as notifications.html, built with text nodes only (no HTML from data).
  function entry(n) {
    const li = document.createElement("li");
    li.className = "notification unread";
    li.dataset.kind = n.kind;
    li.dataset.id = String(n.id);
    const isNew = document.createElement("span");
    isNew.className = "badge blue";
    isNew.textContent = "New";
    const title = document.createElement("strong");
    if (n.link) {
      const a = document.createElement("a");
      a.href = n.link;
      a.textContent = n.title;
      title.append(a);
    } else {
      title.textContent = n.title;
    }
    const when = document.createElement("span");
    when.className = "muted when";
    const time = document.createElement("time");
    time.setAttribute("datetime", n.created_at);
    time.textContent = new Date(n.created_at).toLocaleString();
    when.append(time);
    li.append(isNew, " ", title, " ", when);
    if (n.body) {
      const body = document.createElement("div");
      body.className = "body";
      body.textContent = n.body;
      li.append(body);
    }
    return li;
  }

  function prepend(n) {
    const list = document.getElementById("notifications");
    if (!list || list.querySelector('[data-id="' + n.id + '"]')) return;
    const empty = list.querySelector(".empty");
    if (empty) empty.remove();
    list.prepend(entry(n));
  }

  // Some were missed: take the list as the server renders it now.
  async function reloadList() {
    const list = document.getElementById("notifications");
    if (!list) return;
    const response = await fetch("/notifications", { credentials: "same-origin" });
    if (!response.ok) return;
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    const fresh = page.getElementById("notifications");
    if (fresh) list.replaceWith(fresh);
  }

  const source = new EventSource(link.dataset.stream);
  source.addEventListener("notification", (e) => {
    const data = JSON.parse(e.data);
    showCount(data.unread);
    prepend(data.notification);
  });
  source.addEventListener("resync", (e) => {
    showCount(JSON.parse(e.data).unread);
    reloadList();
  });
})();
