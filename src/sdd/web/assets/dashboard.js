
(() => {
  "use strict";
  const main = () => document.getElementById("main");
  let chosen = null;  // the cycle picked by a #cycle-N link; other anchors keep it
  function select() {
    const root = main();
    if (!root) return;
    const m = /^#cycle-(\d+)$/.exec(location.hash);
    if (m) chosen = m[1];
    let want = chosen || root.dataset.latest;
    if (!root.querySelector('section.cycle[data-cycle="' + want + '"]')) want = root.dataset.latest;
    root.querySelectorAll("section.cycle").forEach((s) => { s.hidden = s.dataset.cycle !== want; });
    root.querySelectorAll("a[data-cycle-link]").forEach((a) => {
      if (a.dataset.cycleLink === want) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    });
  }
  window.addEventListener("hashchange", select);
  function selectText(button) {
    const code = button.parentElement.querySelector("code");
    const range = document.createRange();
    range.selectNodeContents(code);
    const sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
  }
  document.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-copy]");
    if (!button) return;
    const done = () => {
      button.textContent = "Copied";
      setTimeout(() => { button.textContent = "Copy"; }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(button.dataset.copy).then(done, () => selectText(button));
    } else {
      selectText(button);
    }
  });
  select();
  const body = document.body;
  if (body.dataset.live !== "1") return;
  const status = document.getElementById("live");
  let version = body.dataset.version;
  let offline = false;
  async function poll() {
    try {
      const answer = await fetch("/state-version", { cache: "no-store" });
      if (!answer.ok) throw new Error("status " + answer.status);
      const now = (await answer.text()).trim();
      if (now !== version) {
        const page = await fetch("/", { cache: "no-store" });
        const doc = new DOMParser().parseFromString(await page.text(), "text/html");
        const fresh = doc.getElementById("main");
        if (fresh) {
          main().replaceWith(document.adoptNode(fresh));
          version = fresh.dataset.version || now;
          select();
          status.textContent = "Live: updated at " + new Date().toLocaleTimeString();
        }
      }
      if (offline) {
        offline = false;
        status.dataset.state = "live";
        status.textContent = "Live: connected again";
      }
    } catch (error) {
      if (!offline) {
        offline = true;
        status.dataset.state = "offline";
        status.textContent = "Offline: the dashboard server is not answering";
      }
    }
    setTimeout(poll, 1500);
  }
  setTimeout(poll, 1500);
})();
