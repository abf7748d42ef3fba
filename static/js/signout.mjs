// Forget whatever this tab unlocked when its owner signs out.
for (const form of document.querySelectorAll('form[data-signout]')) {
  form.addEventListener("submit", () => sessionStorage.clear());
}
