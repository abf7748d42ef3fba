// Forget whatever this tab unlocked when its owner signs out, or when the session has been
// idle for as long as the server allows (the server ends it then too).

import { forgetUnlocked as forget } from "./staff.mjs";

for (const form of document.querySelectorAll("form[data-signout]")) {
  form.addEventListener("submit", () => forget());
}

const minutes = Number(document.body.dataset.idleMinutes);
if (minutes > 0) {
  let timer;
  const restart = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      forget();
      window.location.reload(); // the server now answers with the sign-in page
    }, minutes * 60 * 1000);
  };
  for (const name of ["pointerdown", "keydown", "scroll"]) {
    addEventListener(name, restart, { passive: true });
  }
  restart();
}
