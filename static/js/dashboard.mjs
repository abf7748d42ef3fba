// The PDF report's progress page: asks the server how far the report is, once a second,
// and shows the download link when it is ready. Without this script the page refreshes
// itself (a meta refresh inside <noscript>).

const area = document.getElementById("report-progress");

function show(id, visible) {
  const element = document.getElementById(id);
  if (element) element.hidden = !visible;
}

async function poll() {
  let status;
  try {
    const response = await fetch(area.dataset.statusUrl, {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    });
    if (!response.ok) throw new Error(String(response.status));
    status = await response.json();
  } catch {
    setTimeout(poll, 3000); // the server is busy or the network dropped: try again later
    return;
  }
  const bar = document.getElementById("report-bar");
  bar.max = Math.max(1, status.steps);
  bar.value = status.step;
  bar.textContent = `${status.step} / ${status.steps}`;
  document.getElementById("report-message").textContent = status.message;
  show("report-ready", status.state === "done");
  show("report-failed", status.state === "failed");
  if (status.state === "done" && status.download) {
    document.getElementById("report-link").href = status.download;
  }
  if (status.state === "running") setTimeout(poll, 1000);
}

if (area && area.dataset.statusUrl) poll();
